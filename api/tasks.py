"""Background work of the API app, run by the worker (``manage.py db_worker``)."""

from __future__ import annotations

from django.tasks import task


@task
def webhook_deliver(delivery_id: int) -> str:
    """One attempt of one webhook delivery; schedules the next on failure."""
    from api.webhooks import webhook_attempt

    return webhook_attempt(delivery_id).status
