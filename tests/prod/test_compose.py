"""docker-compose.yml cannot run here (no Docker engine); its topology is checked as data and
mirrored by scripts/serve-prod, which the smoke test runs."""

import re
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


def serve_prod_pgbouncer_ini() -> dict[str, str]:
    """The [pgbouncer] settings serve-prod writes (scripts/pgbouncer_ini.py with its defaults)."""
    import os
    import subprocess
    import sys

    text = (ROOT / "scripts" / "serve-prod").read_text()
    env = dict(os.environ, DATABASE_URL="postgres://fieldstock_app:pw@127.0.0.1:5432/fieldstock",
               PGBOUNCER_PORT="6432", PGB_DIR="/tmp/x",
               PGBOUNCER_POOL_SIZE=re.search(r"PGBOUNCER_POOL_SIZE:-(\d+)", text).group(1),
               WORK_MEM=re.search(r"DATABASE_WORK_MEM-(\w+)", text).group(1))
    ini = subprocess.run([sys.executable, str(ROOT / "scripts" / "pgbouncer_ini.py")], env=env,
                         capture_output=True, text=True, check=True).stdout
    settings = dict(re.findall(r"^(\w+) = (.*)$", ini, flags=re.M))
    settings["connect_query"] = re.search(r"connect_query='(.*)'$", ini, flags=re.M).group(1)
    return settings


def test_compose_pgbouncer_and_app_settings_agree_with_serve_prod():
    """docker-compose.yml cannot run here: its pgbouncer and the app's settings behind it are
    checked against what scripts/serve-prod runs (and tests/prod/test_pgbouncer.py exercises)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    serve_prod = (ROOT / "scripts" / "serve-prod").read_text()
    ini = serve_prod_pgbouncer_ini()
    bouncer = services["pgbouncer"]["environment"]
    # The pooler: transaction mode, the same pool and client limits, the same ignored parameter.
    assert ini["pool_mode"] == bouncer["POOL_MODE"].lower() == "transaction"
    assert ini["default_pool_size"] == bouncer["DEFAULT_POOL_SIZE"]
    assert ini["max_client_conn"] == bouncer["MAX_CLIENT_CONN"]
    assert ini["ignore_startup_parameters"] == bouncer["IGNORE_STARTUP_PARAMETERS"]
    # work_mem: serve-prod's pgbouncer sets it on each server connection (connect_query); the
    # compose image has no connect_query, so the server's own setting is the same value.
    work_mem = re.search(r"work_mem = ''(\w+)''", ini["connect_query"]).group(1)
    assert f"work_mem={work_mem}" in services["db"]["command"]
    # The app's environment behind it: the same names and values as serve-prod exports.
    app = services["app1"]["environment"]
    assert services["app2"]["environment"] == app == services["worker"]["environment"]
    assert app["DATABASE_POOLER"] == "pgbouncer"
    assert re.search(r"export DATABASE_URL DATABASE_POOLER=pgbouncer\b", serve_prod)
    for name, value in {"DOCUMENT_STORAGE": "database", "TASKS_BACKEND": "database",
                        "CONN_MAX_AGE": "60", "TRUSTED_PROXY_COUNT": "1"}.items():
        assert app[name] == value, name
        assert re.search(rf"export {name}=(\$\{{{name}:-)?{value}\b", serve_prod), name
    exported = set(re.findall(r"^\s*export (\w+)=", serve_prod, flags=re.M))
    exported |= {"DATABASE_POOLER", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR",
                 "DATABASE_REPLICA_URL", "METRICS_TOKEN"}
    # serve-prod's own (DEBUG is the image's ENV, STATIC_ROOT its collectstatic folder).
    assert exported - set(app) == {"DEBUG", "STATIC_ROOT"}, exported - set(app)
    # Every name compose sets is one the settings (or gunicorn) read: no typo goes unnoticed.
    read = (ROOT / "config" / "settings.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    for name in app:
        if name != "PROMETHEUS_MULTIPROC_DIR":  # read by prometheus_client itself
            assert f'"{name}"' in read, name
    # With that environment Django keeps correct behind transaction pooling: no server-side
    # cursors (a named cursor would be looked for on another server connection), no prepared
    # statements.
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for name, value in app.items():  # ${X:-default} as compose fills it when X is unset
        value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
        env[name] = re.sub(r"\$\{\w+:\?[^}]*\}", "x" * 50, value)
    env.update(SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0")
    probe = ("import django, json; django.setup(); from django.conf import settings; "
             "d = settings.DATABASES['default']; "
             "o = d['OPTIONS']; print(json.dumps([d['DISABLE_SERVER_SIDE_CURSORS'], "
             "o.get('prepare_threshold', 'unset'), o.get('options'), d['PORT'], d['HOST']]))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == [True, None, None, 6432, "pgbouncer"]
