"""Contract tests use the events tests' world (an organisation with a rep, facility and devices)."""

from tests.events.conftest import world  # noqa: F401  (fixture)
