"""The least-privilege database role: the app's role may add ledger rows but not change, remove,
truncate or unprotect them, and owns nothing."""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_role(world):
    role, password = f"fs_app_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    world.devices(2)
    call_command("create_app_db_role", role=role, password=password)
    settings = connection.settings_dict
    conn = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
        dbname=settings["NAME"], user=role, password=password, autocommit=True,
    )
    yield role, password, conn
    conn.close()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize("statement", [
    "UPDATE inventory_devicemovement SET note = 'changed'",
    "DELETE FROM inventory_devicemovement",
    "TRUNCATE inventory_devicemovement CASCADE",
    "ALTER TABLE inventory_devicemovement DISABLE TRIGGER inventory_devicemovement_append_only",
    "ALTER TABLE inventory_devicemovement DISABLE TRIGGER ALL",
    "DROP TRIGGER inventory_devicemovement_append_only ON inventory_devicemovement",
    "SET session_replication_role = replica",
    "UPDATE accounts_patientaccess SET patient_id = ''",
    "CREATE TABLE sneaky (id int)",
    "DELETE FROM django_migrations",
])
def test_the_app_role_is_refused(app_role, statement):
    _, _, conn = app_role
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE note = 'changed') "
                       "FROM inventory_devicemovement")
        assert cursor.fetchone() == (2, 0)


def test_the_app_role_reads_and_writes_rows_and_owns_nothing(app_role, world):
    role, _, conn = app_role
    assert conn.execute("SELECT count(*) FROM inventory_devicemovement").fetchone() == (2,)
    conn.execute("UPDATE inventory_device SET lot = lot")  # ordinary tables: rows change
    assert conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = %s", [role]
    ).fetchone() == (0,)
    assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role]).fetchone() \
        == (False,)
    # Running it again is harmless (after each migrate).
    call_command("create_app_db_role", role=role, password="")


def test_the_app_runs_as_the_role(app_role):
    """The app's own code (verify_ledger reads every table it checks) works as that role."""
    role, password, _ = app_role
    settings = connection.settings_dict
    host = quote(settings["HOST"] or "127.0.0.1", safe="")  # a unix socket's folder, encoded
    url = f"postgres://{role}:{password}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_ledger"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-only-secret-key",
             "DJANGO_SETTINGS_MODULE": "config.settings"},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the chain is intact" in result.stdout
