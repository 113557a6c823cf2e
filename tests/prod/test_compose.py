"""docker-compose.yml cannot run here (no Docker engine); its topology is checked as data and
mirrored by scripts/serve-prod, which the smoke test runs."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_migrations_once_two_instances_a_worker_and_nginx():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "pgbouncer", "migrate", "app1", "app2", "worker", "nginx"}
    # Migrations run as the owner, then the app's least-privilege role is brought up to date.
    migrate = " ".join(services["migrate"]["command"])
    assert "manage.py migrate --no-input && python manage.py create_app_db_role" in migrate
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgres://fieldstock:")
    for name in ("app1", "app2", "worker"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["DOCUMENT_STORAGE"] == "database" and env["TASKS_BACKEND"] == "database"
        assert env["DATABASE_URL"].startswith("postgres://fieldstock_app:")  # not the owner
        # Through pgbouncer in transaction mode, with the settings that keep Django correct.
        assert "@pgbouncer:6432/" in env["DATABASE_URL"] and env["DATABASE_POOLER"] == "pgbouncer"
        assert "migrate" not in " ".join(service.get("command", []))
    worker = " ".join(services["worker"]["command"])
    assert (
        "manage.py requeue_stale_tasks --older-than 0 && exec python manage.py db_worker" in worker
    )
    bouncer = services["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction" and bouncer["DB_HOST"] == "db"
    # Migrations go straight to PostgreSQL (the owner), not through the pooler.
    assert "@db:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    assert services["migrate"]["environment"]["DATABASE_POOLER"] == ""
    nginx = services["nginx"]
    assert {nginx["environment"]["APP1_ADDR"], nginx["environment"]["APP2_ADDR"]} == {
        "app1:8000",
        "app2:8000",
    }
    template = nginx["volumes"][0].split(":")[0]
    assert (ROOT / template).exists()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"]' in dockerfile
    assert "DEBUG=0" in dockerfile and "collectstatic" in dockerfile
