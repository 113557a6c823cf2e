from tests.events.conftest import world  # noqa: F401
