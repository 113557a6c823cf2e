"""Failure drill: the document store's disk is full.

Documents on the filesystem (DOCUMENT_STORAGE=filesystem) on a tiny tmpfs mounted for the test
and filled to the last byte (root here and in CI; unmounted after). A rep submits a stocking order
through a production instance: the submit succeeds (the event stays submitted, its sales order is
issued); the worker's render fails with a clear logged error and is queued again (not lost); the
rep sees "not ready yet" where the PDF would be, not a 500; once space is freed the worker stores
the PDF exactly once, with no half-written file beside it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from billing.models import SalesOrder
from events.models import Event, EventStatus
from tests.events.conftest import build_world
from tests.prod.clusters import wait_for
from tests.prod.conftest import logged_in, production_env

pytestmark = pytest.mark.prod

TASK = "billing.tasks.document_render_and_store"


@pytest.fixture
def full_disk():
    """A 512 KiB tmpfs, filled until the kernel says ENOSPC; the filler's path is yielded.

    Mounted on a folder of its own, not under pytest's tmp_path: pytest removes old numbered
    folders of other sessions (every session here runs as root) when it starts."""
    if os.geteuid() != 0:  # never a skip: this drill runs as root, here and in CI
        pytest.fail("the disk-full drill mounts a tmpfs: run it as root")
    mount = Path(tempfile.mkdtemp(prefix="fieldstock-full-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", str(mount)],
                   check=True)
    try:
        assert os.path.ismount(mount), subprocess.run(["df", str(mount)], capture_output=True,
                                                      text=True).stdout
        filler = mount / "filler"
        try:  # unbuffered: closing the file must not retry a write the disk refused
            with filler.open("wb", buffering=0) as handle:
                while True:
                    handle.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        yield mount, filler
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
        mount.rmdir()


def results(pk: int) -> list[DBTaskResult]:
    return [r for r in DBTaskResult.objects.filter(task_path=TASK).order_by("enqueued_at")
            if r.args_kwargs["args"][1] == pk]


def test_disk_full_for_documents(transactional_db, processes, static_root, full_disk):
    mount, filler = full_disk
    world = build_world()
    draft = world.event("stocking_order", name="Disk-full order")
    world.add(draft, world.devices(2))
    env = production_env(static_root, DOCUMENT_STORAGE="filesystem", MEDIA_ROOT=str(mount),
                         DOCUMENT_RETRY_SECONDS="1", DOCUMENT_RETRY_MAX_SECONDS="2")
    base = processes.gunicorn(env)
    worker, worker_log = processes.start(
        "worker", [sys.executable, "manage.py", "db_worker", "--interval", "0.2"], env
    )
    rep = logged_in(base, world.rep)

    # Submit For Billing succeeds: nothing of it needs the document store.
    response = rep.post(f"{base}/events/{draft.pk}/submit/",
                        data={"signature_name": "Ann Rep", "attest": "on"},
                        allow_redirects=False, timeout=120)
    assert response.status_code == 302, response.text[:2000]
    event = Event.objects.get(pk=draft.pk)
    assert event.status != EventStatus.DRAFT
    order = SalesOrder.objects.get(event=event)

    # The worker's render fails with a clear logged error, and another attempt is queued.
    wait_for(lambda: len(results(order.pk)) >= 3, timeout=300,
             what="the render failing and being queued again")
    assert worker.poll() is None
    log = worker_log.read_text()
    assert f"The PDF of {order.number} could not be stored" in log, log[-3000:]
    assert "No space left on device" in log and "Retry 1 is queued in 1 s" in log
    failed = [r for r in results(order.pk) if r.status == "FAILED"]
    assert failed and all("DocumentNotStored" in r.exception_class_path for r in failed)
    order.refresh_from_db()
    assert not order.sha256 and not order.pdf
    assert Event.objects.get(pk=draft.pk).status == event.status  # still submitted

    # Where the PDF would be: "being prepared" on the event, "not ready yet" on its link.
    page = rep.get(f"{base}/events/{draft.pk}/?tab=billing", timeout=120)
    assert page.status_code == 200 and 'data-testid="pdf-pending"' in page.text
    pdf = rep.get(f"{base}/events/{draft.pk}/billing/sales-order.pdf", timeout=120)
    assert pdf.status_code == 503, pdf.status_code
    assert f"The PDF of {order.number} is not ready yet" in pdf.text
    assert "Traceback" not in pdf.text and pdf.headers["Retry-After"]
    # Nothing half-written was left on the disk by either attempt.
    assert sorted(p.name for p in mount.rglob("*") if p.is_file()) == ["filler"]

    # Space freed: the worker's next attempt stores it, once.
    filler.unlink()
    wait_for(lambda: SalesOrder.objects.get(pk=order.pk).sha256, timeout=300,
             what="the PDF stored after space was freed")
    time.sleep(3)  # any attempt still queued runs meanwhile, and finds it stored
    order.refresh_from_db()
    files = [p for p in mount.rglob("*") if p.is_file()]
    assert [p.relative_to(mount).as_posix() for p in files] == [order.pdf.name]
    assert order.pdf.name.endswith(f"/{order.number}.pdf")
    assert hashlib.sha256(files[0].read_bytes()).hexdigest() == order.sha256
    stored = [r for r in results(order.pk) if r.status == "SUCCESSFUL" and r.return_value]
    assert len(stored) == 1
    pdf = rep.get(f"{base}/events/{draft.pk}/billing/sales-order.pdf", timeout=120)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert hashlib.sha256(pdf.content).hexdigest() == order.sha256
