import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the browser tests also use the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    """Without DATABASE_URL the tests run on the embedded PostgreSQL that `make test` starts
    (scripts/devdb.py); say so, rather than fail every test on a connection error."""
    from django.conf import settings

    host = settings.DATABASES["default"]["HOST"]
    if not os.environ.get("DATABASE_URL") and not Path(host, ".s.PGSQL.5432").exists():
        raise pytest.UsageError(
            f"No DATABASE_URL, and the embedded PostgreSQL ({host}) is not running: run the "
            "tests with `make test` (PYTEST_ARGS=...), or `.venv/bin/python scripts/devdb.py "
            ".venv/bin/pytest ...`, or set DATABASE_URL to a PostgreSQL database."
        )


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_ledger_truncate_trigger():
    """Transactional tests end with ``flush``, a TRUNCATE of every table; the ledger refuses
    TRUNCATE (migration inventory 0004). The test suite connects as the owner, so, as an owner
    resetting a database would, it disables that trigger around the flush (the kit ledger's too,
    migration inventory 0017)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    ledgers = ("inventory_devicemovement", "inventory_kitmovement")

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        sql = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        present = [table for table in ledgers if table in tables]
        if not present or not sql:
            return sql
        return [
            *(f"ALTER TABLE {t} DISABLE TRIGGER {t}_no_truncate" for t in present),
            *sql,
            *(f"ALTER TABLE {t} ENABLE TRIGGER {t}_no_truncate" for t in present),
        ]

    patch = pytest.MonkeyPatch()
    patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _fresh_option_lists():
    """The option lists kept per process (core.options) start empty in every test: a test's
    rolled-back organisation must not leave its lists to the next."""
    from core import options

    options.clear()
    yield
    options.clear()
