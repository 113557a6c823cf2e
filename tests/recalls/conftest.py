"""Recall tests use the events tests' world (an organisation with reps, facilities, devices)."""

from tests.events.conftest import world  # noqa: F401  (fixture)
