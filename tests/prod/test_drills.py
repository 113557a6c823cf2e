"""Failure drills on real processes: PostgreSQL restarted under HTTP load.

Two gunicorn instances (DEBUG off, kept connections) serve a primary cluster of the test's own
(a copy of the test's rows); while readers browse and reps submit drafts, PostgreSQL is stopped
and started again. Requests during the outage get the styled 503 "try again" page (never a 500,
never a traceback); the instances serve again without a restart; each submit is applied
completely once, or not at all."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.test import Client

from events.models import EventStatus
from inventory.models import DeviceStatus
from tests.events.conftest import build_world
from tests.prod.clusters import Cluster, copy_database
from tests.prod.conftest import database_url, production_env

pytestmark = pytest.mark.prod

SUBMITS = 12


def signed_in(base: str, user) -> requests.Session:
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


def test_postgresql_restarted_under_load(transactional_db, processes, static_root):
    world = build_world()
    drafts = []
    for i in range(SUBMITS):
        draft = world.event("stocking_order", name=f"Drill order {i}")
        world.add(draft, world.devices(2))
        drafts.append(draft)
    sessions_made = {"rep": world.rep, "manager": world.manager}
    primary = Cluster.primary()
    try:
        dbname = f"fs_{uuid.uuid4().hex[:10]}"
        # Sessions are rows: make them before the copy.
        clients = {name: signed_in("", user) for name, user in sessions_made.items()}
        copy_database(database_url(), primary, dbname)
        env = production_env(
            static_root,
            DATABASE_URL=primary.url(dbname),
            CONN_MAX_AGE="60",
            WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4",
            DATABASE_CONNECT_TIMEOUT="2",
        )
        servers = [processes.gunicorn(env, "app1"), processes.gunicorn(env, "app2")]
        rep = clients["rep"]
        page = rep.get(f"{servers[0]}/events/", timeout=60)
        assert page.status_code == 200
        csrf = {"X-CSRFToken": rep.cookies["csrftoken"], "Referer": f"{servers[0]}/events/"}

        results: list[tuple[str, int, str]] = []
        stop = threading.Event()

        def browse(i: int) -> None:
            session = clients["manager"]
            n = 0
            while not stop.is_set():
                base = servers[(i + n) % 2]
                n += 1
                try:
                    response = session.get(f"{base}/events/", timeout=60)
                    results.append(("browse", response.status_code, response.text))
                except requests.RequestException as error:
                    results.append(("browse", -1, repr(error)))
                time.sleep(0.05)

        submits: dict[int, requests.Response] = {}

        def submit(i: int) -> None:
            draft = drafts[i]
            response = rep.post(
                f"{servers[i % 2]}/events/{draft.pk}/submit/",
                data={"signature_name": "Ann Rep", "attest": "on"},
                headers=csrf,
                allow_redirects=False,
                timeout=120,
            )
            submits[draft.pk] = response
            results.append(("submit", response.status_code, response.text))

        with ThreadPoolExecutor(max_workers=8) as pool:
            readers = [pool.submit(browse, i) for i in range(3)]
            time.sleep(1)
            for i in range(SUBMITS // 3):  # some before the outage
                pool.submit(submit, i).result()
            primary.stop("fast")
            outage = [pool.submit(submit, i) for i in range(SUBMITS // 3, 2 * SUBMITS // 3)]
            for job in outage:
                job.result()
            time.sleep(1)
            primary.start()
            time.sleep(1)
            for i in range(2 * SUBMITS // 3, SUBMITS):  # after: the instances serve again
                pool.submit(submit, i).result()
            time.sleep(1)
            stop.set()
            for job in readers:
                job.result()

        codes = {code for _, code, _ in results}
        assert codes <= {200, 302, 503}, sorted(codes)
        unavailable = [text for _, code, text in results if code == 503]
        assert unavailable, "the outage was not seen: no request got the 503 page"
        for text in unavailable:
            assert "try again in a moment" in text and 'data-status="503"' in text
            assert "Traceback" not in text
        # During the outage the submits failed clearly; before and after they went through.
        statuses = [submits[d.pk].status_code for d in drafts]
        assert statuses[: SUBMITS // 3] == [302] * (SUBMITS // 3)
        assert statuses[SUBMITS // 3 : 2 * SUBMITS // 3] == [503] * (SUBMITS // 3)
        assert statuses[2 * SUBMITS // 3 :] == [302] * (SUBMITS - 2 * SUBMITS // 3)
        # Browsing recovered on both instances without a restart.
        for base in servers:
            assert clients["manager"].get(f"{base}/events/", timeout=60).status_code == 200

        # Each submit applied completely once, or not at all.
        with primary.connect(dbname) as conn:
            for draft in drafts:
                status = conn.execute(
                    "SELECT status FROM events_event WHERE id = %s", [draft.pk]
                ).fetchone()[0]
                orders = conn.execute(
                    "SELECT count(*) FROM billing_salesorder WHERE event_id = %s", [draft.pk]
                ).fetchone()[0]
                devices = {
                    row[0]
                    for row in conn.execute(
                        "SELECT d.status FROM inventory_device d JOIN events_eventline l "
                        "ON l.device_id = d.id WHERE l.event_id = %s",
                        [draft.pk],
                    )
                }
                if submits[draft.pk].status_code == 302:
                    assert status != EventStatus.DRAFT and orders == 1
                    assert devices == {DeviceStatus.FACILITY_STOCK}
                else:
                    assert status == EventStatus.DRAFT and orders == 0
                    assert devices == {DeviceStatus.AVAILABLE}
    finally:
        primary.remove()
