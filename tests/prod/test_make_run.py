"""`make run` is one command for a working app: the server and, beside it, the worker that
renders the PDFs after a submit (issue 23: the "PDF being prepared" badge never cleared because
`make run` started no worker). The recipe runs as a developer runs it, on the test database
(``DATABASE_URL`` set, so the embedded PostgreSQL is not started); a stocking order submitted
meanwhile gets its sales order rendered by that worker; Ctrl-C (SIGINT to the process group)
stops the server and the worker with it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from billing.models import SalesOrder
from core.models import StoredFile
from tests.events.conftest import build_world
from tests.prod.conftest import ROOT, database_url, free_port, wait_until_up

pytestmark = pytest.mark.prod

RENDER = "billing.tasks.document_render_and_store"


def group_commands(pgid: int) -> list[str]:
    """The command lines of the live processes in process group ``pgid``."""
    commands = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # ended meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":  # (state, ppid, pgrp, ...)
            commands.append(cmdline.replace(b"\0", b" ").decode(errors="replace").strip())
    return commands


def test_make_run_starts_the_worker_that_renders_a_submitted_order(
    transactional_db, settings, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    port = int(os.environ.get("MAKE_RUN_TEST_PORT") or free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url(),  # the test database: no embedded PostgreSQL
        PORT=str(port),
        SEED_DEVICES="300",  # a small demo: the seed is not what this test is about
        DOCUMENT_STORAGE="database",  # documents where this test can read them
        MEDIA_ROOT=str(tmp_path / "media"),
        LOG_LEVEL="WARNING",
    )
    log_path = tmp_path / "make-run.log"
    log = log_path.open("wb")
    # Its own process group, as a terminal gives it: Ctrl-C reaches make, the server, the worker.
    run = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # migrate, seed_demo, then the server: minutes on a loaded machine.
        wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", run, log_path, timeout=1200)
        # (In DEBUG the worker runs under its autoreloader: a parent and the worker itself.)
        workers = [c for c in group_commands(run.pid)
                   if c.split(" ")[0].endswith("python") and "manage.py db_worker" in c]
        assert workers, (group_commands(run.pid), log_path.read_text()[-2000:])

        world = build_world()
        order = world.event("stocking_order")
        world.add(order, world.devices(2))
        world.submit(order)  # queues the sales order's rendering for the worker
        sales_order = SalesOrder.objects.get(event=order)
        task = DBTaskResult.objects.filter(task_path=RENDER).order_by("-enqueued_at").first()
        deadline = time.monotonic() + 600  # a deadline, not a timing: the worker is busy first
        while time.monotonic() < deadline:  # rendering what seed_demo submitted
            sales_order.refresh_from_db()
            if sales_order.sha256:
                break
            assert run.poll() is None, log_path.read_text()[-2000:]
            time.sleep(0.5)
        sales_order.refresh_from_db()
        assert sales_order.sha256 and sales_order.pdf.name, log_path.read_text()[-2000:]
        assert StoredFile.objects.filter(name=sales_order.pdf.name).exists()
        task.refresh_from_db()
        assert task.status == "SUCCESSFUL"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C
            try:
                run.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
        log.close()
    # Nothing of the group is left behind: not the server, not the worker.
    deadline = time.monotonic() + 60
    while group_commands(run.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_commands(run.pid) == []
