"""With the production task backend (django-tasks-db) the worker sends the delivery after commit
and the retry waits in the queue for its time (run_after), then goes out with the same id."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook

from api.models import WebhookDelivery
from api.services import webhook_endpoint_create
from tests.api.test_webhooks import Receiver
from tests.events.conftest import build_world


def run_worker():
    Worker(queue_names=["default"], interval=0, batch=True, backend_name="default",
           startup_delay=False, max_tasks=None, worker_id="test",
           excluded_queue_names=[]).run()


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_after_commit_and_retries_when_due(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    world = build_world()
    with Receiver([500]) as receiver:
        endpoint = webhook_endpoint_create(actor=world.admin, url=receiver.url,
                                           kinds=["event.submitted"])
        event = world.event("stocking_order")
        world.add(event, world.devices(1))
        world.submit(event)
        assert receiver.requests == []  # queued, not sent in the request
        run_worker()  # outbox → fan-out → first attempt (500) → retry queued for later
        assert len(receiver.requests) == 1
        retry = DBTaskResult.objects.get(task_path="api.tasks.webhook_deliver",
                                         status="READY")
        assert retry.run_after > timezone.now() + datetime.timedelta(seconds=5)
        run_worker()  # not due yet: nothing sent
        assert len(receiver.requests) == 1
        DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
        run_worker()
    assert len(receiver.requests) == 2
    for headers, body in receiver.requests:
        Webhook(endpoint.secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert receiver.requests[0][0]["webhook-id"] == receiver.requests[1][0]["webhook-id"]
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED
