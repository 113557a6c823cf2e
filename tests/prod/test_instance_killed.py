"""Failure drill: one app instance killed (-9, its master and workers) behind nginx under load.

nginx (deploy/nginx-site.conf.template) in front of two gunicorn instances; readers browse through
it while reps submit drafts. Some submits are held in flight inside the instances (the test holds
their events' row locks, so each waits in Submit For Billing's first locked read); the instance
holding one is killed with SIGKILL. Then: every GET succeeds (nginx retries an idempotent request
on the other instance), a submit in flight on the dead instance gets the "try again" page (never
nginx's bare 502; nginx never re-sends a POST) and is applied at most once, a submit on the
surviving instance is applied once, and new submits go through.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests

from events.models import EventStatus
from inventory.models import DeviceStatus
from tests.events.conftest import build_world
from tests.prod.clusters import wait_for
from tests.prod.conftest import database_url, production_env, start_nginx
from tests.prod.test_drills import signed_in

pytestmark = pytest.mark.prod

HELD = 4  # submits held in flight when the instance dies
AFTER = 2  # submits sent after it died


def socket_owner(port: int) -> int | None:
    """The pid of the process holding the local TCP port ``port`` (a database connection)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_one_instance_killed_behind_nginx(transactional_db, processes, static_root, tmp_path):
    world = build_world()
    drafts = []
    for i in range(HELD + AFTER):
        draft = world.event("stocking_order", name=f"Killed-instance order {i}")
        world.add(draft, world.devices(2))
        drafts.append(draft)
    rep_cookie = signed_in("", world.rep).cookies
    manager = signed_in("", world.manager)

    env = production_env(static_root, CONN_MAX_AGE="60", WEB_CONCURRENCY="2",
                         GUNICORN_THREADS="4")
    upstreams = [processes.gunicorn(env, "app1"), processes.gunicorn(env, "app2")]
    masters = {processes.running[0].pid: "app1", processes.running[1].pid: "app2"}
    base = start_nginx(processes, tmp_path, [u.removeprefix("http://") for u in upstreams])

    def rep_session() -> requests.Session:
        session = requests.Session()
        session.cookies.update(rep_cookie)
        page = session.get(f"{base}/events/", timeout=120)
        assert page.status_code == 200
        session.headers.update({"X-CSRFToken": session.cookies["csrftoken"],
                                "Referer": f"{base}/events/"})
        return session

    # Readers through nginx, before, during and after the kill.
    browsed: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def browse() -> None:
        session = requests.Session()
        session.cookies.update(manager.cookies)
        while not stop.is_set():
            try:
                response = session.get(f"{base}/events/", timeout=120)
                browsed.append((time.monotonic(), response.status_code, ""))
            except requests.RequestException as error:
                browsed.append((time.monotonic(), -1, repr(error)))
            time.sleep(0.05)

    readers = [threading.Thread(target=browse) for _ in range(3)]
    for reader in readers:
        reader.start()

    submits: dict[int, requests.Response | Exception] = {}

    def submit(draft) -> None:
        try:
            submits[draft.pk] = rep_session().post(
                f"{base}/events/{draft.pk}/submit/",
                data={"signature_name": "Ann Rep", "attest": "on"},
                allow_redirects=False, timeout=120,
            )
        except requests.RequestException as error:
            submits[draft.pk] = error

    held = drafts[:HELD]
    held_ids = [d.pk for d in held]
    try:
        with psycopg.connect(database_url(), autocommit=False) as locker:
            locker.execute("SELECT id FROM events_event WHERE id = ANY(%s) FOR UPDATE",
                           [held_ids])
            senders = [threading.Thread(target=submit, args=(d,)) for d in held]
            for sender in senders:
                sender.start()

            def waiting() -> list[int]:
                with psycopg.connect(database_url(), autocommit=True) as watcher:
                    return [row[0] for row in watcher.execute(
                        "SELECT client_port FROM pg_stat_activity WHERE wait_event_type = "
                        "'Lock' AND query ILIKE '%%events_event%%' AND datname = "
                        "current_database()"
                    )]

            wait_for(lambda: len(waiting()) == HELD, timeout=300,
                     what="every held submit waiting on its event's lock")
            # Which instance holds them: the gunicorn worker owning each waiting connection.
            owners = {masters.get(parent(pid)) for pid in map(socket_owner, waiting()) if pid}
            assert owners <= {"app1", "app2"} and owners, owners
            victim = "app1" if "app1" in owners else "app2"
            victim_pid = next(pid for pid, name in masters.items() if name == victim)
            killed_at = time.monotonic()
            os.killpg(victim_pid, signal.SIGKILL)  # the master and its workers, no goodbye
            wait_for(lambda: processes.running[0 if victim == "app1" else 1].poll() is not None,
                     timeout=30, what="the killed instance gone")
            time.sleep(1)
            locker.rollback()  # the held submits on the surviving instance go on
        for sender in senders:
            sender.join(timeout=300)

        # Submits after the kill go through (nginx sends them to the living instance).
        for draft in drafts[HELD:]:
            submit(draft)
        time.sleep(2)
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=300)

    # Every read succeeded, also those in flight on the killed instance (retried on the other).
    failed_reads = [(round(at - killed_at, 1), code, error) for at, code, error in browsed
                    if code != 200]
    assert not failed_reads, failed_reads
    assert sum(at > killed_at for at, _, _ in browsed) >= 10, "no reads after the kill"

    failed = []
    for draft in drafts:
        response = submits[draft.pk]
        assert not isinstance(response, Exception), response
        with psycopg.connect(database_url()) as conn:
            status = conn.execute("SELECT status FROM events_event WHERE id = %s",
                                  [draft.pk]).fetchone()[0]
            orders = conn.execute("SELECT count(*) FROM billing_salesorder WHERE event_id = %s",
                                  [draft.pk]).fetchone()[0]
            devices = {row[0] for row in conn.execute(
                "SELECT d.status FROM inventory_device d JOIN events_eventline l "
                "ON l.device_id = d.id WHERE l.event_id = %s", [draft.pk])}
        assert orders in (0, 1), (draft.pk, orders)  # never twice
        if response.status_code == 302:  # committed, once
            assert status != EventStatus.DRAFT and orders == 1
            assert devices == {DeviceStatus.FACILITY_STOCK}
        else:  # failed clearly: the "try again" page from nginx, not its bare 502
            failed.append(draft.pk)
            assert draft.pk in held_ids, (draft.pk, response.status_code)
            assert response.status_code == 502, response.status_code
            text = response.text
            assert 'data-status="502"' in text and "try again in a moment" in text, text[:500]
            assert "open the event again to see whether it went through" in text
            assert re.search(r"Reference: [0-9a-f]{32}", text)
            assert response.headers["X-Request-ID"] in text
            # Applied completely or not at all.
            if orders == 0:
                assert status == EventStatus.DRAFT and devices == {DeviceStatus.AVAILABLE}
            else:
                assert status != EventStatus.DRAFT and devices == {DeviceStatus.FACILITY_STOCK}
    assert failed, "no submit was in flight on the killed instance"
    # What nginx answered is in its access log: the dead instance's 502s, nothing retried twice.
    log = (tmp_path / "nginx" / "access.log").read_text()
    for pk in held_ids:
        assert log.count(f"POST /events/{pk}/submit/") == 1
