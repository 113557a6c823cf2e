"""What /readyz and the metrics report: the database, the task queue, the replica."""

from __future__ import annotations

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connections, transaction
from django.utils import timezone

from core.replica import replica_state

__all__ = ["database_state", "queue_state", "replica_state"]


def database_state() -> dict:
    """The primary answers a query within DATABASE_CHECK_TIMEOUT_MS."""
    try:
        with transaction.atomic(), connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            timeout = int(settings.DATABASE_CHECK_TIMEOUT_MS)
            cursor.execute(f"SET LOCAL statement_timeout = {timeout}")
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    except Error as error:
        connections[DEFAULT_DB_ALIAS].close()  # a broken connection is not reused
        return {"ok": False, "error": str(error).splitlines()[0] if str(error) else "unreachable"}


def queue_state() -> dict | None:
    """Tasks ready to run and the age of the oldest (None: tasks run in-process)."""
    if not settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db."):
        return None
    from django.db.models import Count, Min
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__lte=now)
    figures = ready.aggregate(depth=Count("id"), oldest=Min("run_after"))
    oldest = figures["oldest"]
    return {
        "depth": figures["depth"],
        "oldest_seconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
    }


def readiness() -> tuple[bool, dict]:
    """(ready, report) for /readyz: ready when the primary answers and no ready task has waited
    past TASK_QUEUE_AGE_MAX_SECONDS (the worker is down or stuck). The replica is reported, not
    required: reads fall back to the primary without it."""
    checks: dict = {"database": database_state()}
    ready = checks["database"]["ok"]
    if ready:
        try:
            queue = queue_state()
        except Error as error:
            queue, ready = {"ok": False, "error": str(error).splitlines()[0]}, False
        if queue is not None and "depth" in queue:
            queue["ok"] = queue["oldest_seconds"] <= settings.TASK_QUEUE_AGE_MAX_SECONDS
            ready = ready and queue["ok"]
        if queue is not None:
            checks["task_queue"] = queue
    replica = replica_state()
    if replica is not None:
        checks["replica"] = replica
    return ready, checks
