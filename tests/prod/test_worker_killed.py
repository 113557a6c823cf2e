"""Drill: the worker killed (-9) in the middle of rendering a document. Its task stays RUNNING
(django-tasks-db never looks at it again) until `requeue_stale_tasks` puts it back; the next
worker renders it, and the document is stored exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from django_tasks_db.models import DBTaskResult

from billing.models import SalesOrder
from core.models import StoredFile
from tests.events.conftest import build_world
from tests.prod.conftest import ROOT, production_env

pytestmark = pytest.mark.prod

RENDER = "billing.tasks.document_render_and_store"


def test_worker_killed_mid_render_runs_the_task_again_and_stores_once(
    transactional_db, settings, static_root, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world = build_world()
    event = world.event("stocking_order")
    world.add(event, world.devices(40))  # a sales order of 40 lines: a render that takes a moment
    world.submit(event)
    order = SalesOrder.objects.get(event=event)
    task = DBTaskResult.objects.get(task_path=RENDER)
    env = production_env(static_root)  # documents in the database, as in production
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.1",
            "--no-startup-delay",
            "--queue-name",
            "default",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            task.refresh_from_db()
            if task.status == "RUNNING":
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(0.01)
        assert task.status == "RUNNING"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    order.refresh_from_db()
    task.refresh_from_db()
    # Left behind: no worker picks a RUNNING task up by itself. (If the render committed just
    # before the kill, running it again must still store nothing twice.)
    assert task.status == "RUNNING"

    requeue = subprocess.run(
        [sys.executable, "manage.py", "requeue_stale_tasks", "--older-than", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert requeue.returncode == 0, requeue.stderr
    assert "Re-queued 1 task" in requeue.stdout
    again = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    task.refresh_from_db()
    order.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert order.sha256 and order.pdf.name
    assert StoredFile.objects.filter(name__startswith=order.pdf.name.rsplit(".", 1)[0]).count() == 1
