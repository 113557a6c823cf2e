"""Tasks queued by an older release name their task by its path then: after `migrate` the worker
still runs them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from billing.models import SalesOrder
from tests.billing._billing import private_storage  # noqa: F401  (autouse fixture)
from tests.events.conftest import build_world

# Where the document task lived before the apps were split (commit a97905d moved it to billing).
OLD_RENDER_PATH = "events.tasks.document_render_and_store"


def migrate_billing_again():
    """Billing's migrations from the one before its task-path rewrite to the latest, as an
    upgrade from a release queued under the old path runs them."""
    executor = MigrationExecutor(connection)
    executor.migrate([("billing", "0002_rename_tables")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)  # the migrations run outside a test transaction
def test_a_render_queued_under_the_old_task_path_runs_after_migrate(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world = build_world()
    event = world.event("stocking_order")
    world.add(event, world.devices(1))
    world.submit(event)  # queues the render: a row naming billing.tasks.…
    order = SalesOrder.objects.get(event=event)
    [queued] = DBTaskResult.objects.all()
    queued.task_path = OLD_RENDER_PATH  # as the release before the move queued it
    queued.save(update_fields=["task_path"])
    mail = DBTaskResult.objects.create(  # a task that did not move keeps its path
        task_path="core.tasks.send_email", backend_name="default", run_after=queued.run_after,
        args_kwargs={"args": [], "kwargs": {"subject": "s", "body": "b", "to": ["a@b.c"]}},
    )

    migrate_billing_again()

    # What the worker does with the row it claims.
    queued.refresh_from_db()
    Worker(queue_names=["default"], interval=0, batch=True, backend_name="default",
           startup_delay=False, max_tasks=None, worker_id="test",
           excluded_queue_names=[]).run_task(queued)
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL", queued.traceback
    order.refresh_from_db()
    assert order.sha256 and order.pdf.name
    mail.refresh_from_db()
    assert mail.task_path == "core.tasks.send_email"
