"""The inventory tests share the ``world`` fixture of tests/events/conftest.py."""

from tests.events.conftest import world  # noqa: F401
