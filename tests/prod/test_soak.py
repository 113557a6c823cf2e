"""A one-minute soak (scripts/soak) of the production topology: nginx, two gunicorn instances, the
worker and pgbouncer (scripts/serve-prod) under mixed load from six clients — reps marking devices
used, submitting and downloading the sales order PDF, browsers on the lists, an exporter on the
All Inventory CSV. 0 errors, and the memory of the gunicorn workers and of the task worker
bounded after a short warm-up. The 20-minute run and its numbers: docs/benchmarks.md "Soak".

A minute cannot tell a slow leak from warming up (the 20-minute run does): the bound here is
loose (growth ≤ 50 %) and catches a leak per request, not a slow one. No timed assertion.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import psycopg
import pytest

from tests.prod.conftest import ROOT, database_url, free_port, needs_nginx, production_env

pytestmark = pytest.mark.prod


def test_one_minute_soak(static_root, tmp_path):
    needs_nginx()
    server = database_url().rsplit("/", 1)[0]  # the test's PostgreSQL server
    admin, dbname = f"{server}/postgres", f"fs_soak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        env = production_env(
            static_root, DATABASE_URL=f"{server}/{dbname}",
            RUN_DIR=str(tmp_path / "run"), APP_DB_ROLE="fieldstock_app_soak",
            APP_DB_PASSWORD="soak-test-app-role", PGBOUNCER_PORT=str(free_port()),
            APP_PORTS=f"{free_port()} {free_port()}",
        )
        env.pop("SECRET_KEY")  # the soak's own, derived from the database's URL
        result_file = tmp_path / "soak.json"
        run = subprocess.run(
            [str(ROOT / "scripts" / "soak"), "--minutes", "1", "--warmup", "0.34", "--period",
             "20", "--port", str(free_port()), "--json", str(result_file)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
        )
        output = run.stdout[-6000:] + run.stderr[-4000:]
        assert run.returncode == 0, output
        result = json.loads(result_file.read_text())
        assert result["errors"] == 0, result["error_examples"]
        assert not result["client_failures"]
        kinds = result["by_kind"]
        for kind in ("list", "mark used", "submit", "pdf", "csv export", "event page"):
            assert kinds.get(kind, {}).get("requests", 0) > 0, (kind, output)
        assert result["submitted"] == kinds["submit"]["requests"]
        growth = result["growth_pct"]
        assert growth["max_gunicorn_worker_kb"] <= 50, (growth, output)
        assert growth["task_worker_kb"] <= 50, (growth, output)
        # serve-prod stopped everything it started.
        assert "serve-prod: stopped" in (tmp_path / "run" / "serve-prod.log").read_text()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
