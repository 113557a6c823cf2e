"""Transactions for the domain services: one atomic block, retried on a lost lock race.

PostgreSQL aborts one transaction of a deadlock (SQLSTATE 40P01) and, under stricter isolation,
one of two conflicting writers (40001). The services take their locks in one global order (event,
then devices by primary key, then the document counter), so this is a safety net: the whole
service call runs again, a bounded number of times with jittered back-off, and when it still
fails the caller gets a ``ServiceBusy`` — a ``ValidationError`` whose message asks to try again,
which views show like any rule message, instead of a 500.
"""

from __future__ import annotations

import functools
import logging
import random
import time

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
ATTEMPTS = 5


class ServiceBusy(ValidationError):
    """The database kept refusing the transaction for contention; nothing was changed."""

    def __init__(self):
        super().__init__(
            "Someone else was changing the same records at that moment. Nothing was saved: "
            "please try again.",
            code="busy",
        )


def is_retryable(error: BaseException) -> bool:
    cause = error.__cause__ or error
    return getattr(cause, "sqlstate", None) in RETRY_SQLSTATES


def service_transaction(func=None, *, attempts: int = ATTEMPTS):
    """Run ``func`` in ``transaction.atomic()``; rerun it on a deadlock or serialization failure.

    Called inside an outer transaction (another service, a test case) it cannot be retried on
    its own, so the error goes up to the outermost service call, which retries.
    """

    def decorate(func):
        atomic = transaction.atomic(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if connection.in_atomic_block:
                return atomic(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    return atomic(*args, **kwargs)
                except OperationalError as error:
                    if not is_retryable(error):
                        raise
                    logger.warning(
                        "%s: %s (attempt %d of %d)", func.__qualname__,
                        str(error).splitlines()[0], attempt, attempts,
                    )
                    if attempt == attempts:
                        raise ServiceBusy() from error
                    time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate
