"""core tests that write domain rows (bulk_insert) use the events tests' world."""

from tests.events.conftest import world  # noqa: F401  (fixture)
