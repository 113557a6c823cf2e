import os

import pytest
from django.db import connection

# Playwright's sync API runs an event loop in the test thread; the browser tests also use the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` are skipped, saying why, on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL (row locks, triggers, concurrency): set DATABASE_URL"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_ledger_truncate_trigger():
    """Transactional tests end with ``flush``, a TRUNCATE of every table; the ledger refuses
    TRUNCATE (migration inventory 0004). The test suite connects as the owner, so, as an owner
    resetting a database would, it disables that trigger around the flush."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    trigger = "inventory_devicemovement_no_truncate"

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        sql = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if "inventory_devicemovement" not in tables or not sql:
            return sql
        return [
            f"ALTER TABLE inventory_devicemovement DISABLE TRIGGER {trigger}",
            *sql,
            f"ALTER TABLE inventory_devicemovement ENABLE TRIGGER {trigger}",
        ]

    patch = pytest.MonkeyPatch()
    patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
    yield
    patch.undo()
