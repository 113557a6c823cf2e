"""Helpers for tests of what waits for a row lock (PostgreSQL, transactional tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from inventory.services import lock_devices


@contextmanager
def devices_held_meanwhile(device_ids: Iterable[int], *, seconds: float,
                           then: Callable[[], object]) -> Iterator[None]:
    """Another transaction (a thread with its own connection) locks the devices as services do
    (``lock_devices``), holds them ``seconds``, runs ``then`` and commits.

    The with block starts once the rows are held, so what it locks waits for that transaction
    and reads what ``then`` left; ``seconds`` must cover the time the block takes to reach its
    lock. Leaving the block waits for the thread and fails the test if it raised.
    """
    device_ids = list(device_ids)
    holding, failures = threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                lock_devices(device_ids)
                holding.set()
                time.sleep(seconds)  # the with block reaches its lock and waits meanwhile
                then()
        except Exception as error:
            failures.append(repr(error))
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(timeout=30), failures
        yield
    finally:
        thread.join(timeout=30)
    assert failures == []
