"""Commission tests use the events tests' world and the reporting tests' shop."""

from tests.events.conftest import world  # noqa: F401  (fixture)
from tests.reporting.conftest import shop  # noqa: F401  (fixture)
