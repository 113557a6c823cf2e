"""The read replica with real PostgreSQL processes: a primary and a streaming standby
(pg_basebackup -R) on local ports, gunicorn instances with DATABASE_REPLICA_URL.

The standby's replay is paused so that it is visibly behind: a report or API list read on the
replica shows the old name of a facility renamed on the primary."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.test import Client

from tests.events.conftest import build_world
from tests.prod.clusters import Cluster, copy_database, wait_for
from tests.prod.conftest import database_url, production_env

pytestmark = pytest.mark.prod


@pytest.fixture(scope="module")
def clusters():
    primary = Cluster.primary()
    replica = None
    try:
        replica = primary.standby()
        yield primary, replica
    finally:
        if replica is not None:
            replica.remove()
        primary.remove()


def session_for(base: str, session_key: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, session_key)
    return session


def signed_in_key(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def replicated_world(clusters, transactional_db):
    """The test's rows, copied into a new database of the primary, replicated to the standby."""
    primary, replica = clusters
    world = build_world()
    keys = {name: signed_in_key(getattr(world, name)) for name in ("admin", "manager")}
    dbname = f"fs_{uuid.uuid4().hex[:10]}"
    copy_database(database_url(), primary, dbname)

    def replicated():
        with replica.connect(dbname) as conn:
            return conn.execute("SELECT count(*) FROM consignment_facility").fetchone()[0] == 2

    wait_for(replicated, what="the standby to replay the copied database")
    return world, keys, dbname


def facility_names(session: requests.Session, base: str) -> set[str]:
    response = session.get(f"{base}/api/v1/facilities/", timeout=60)
    assert response.status_code == 200, response.text[:500]
    return {row["name"] for row in response.json()["results"]}


def rename_on_primary(primary: Cluster, dbname: str, facility, name: str) -> None:
    with primary.connect(dbname) as conn:
        conn.execute("UPDATE consignment_facility SET name = %s WHERE id = %s", [name, facility.pk])


def test_lists_read_the_replica_a_writer_reads_the_primary_and_lag_falls_back(
    clusters, replicated_world, processes, static_root
):
    primary, replica = clusters
    world, keys, dbname = replicated_world
    common = {
        "DATABASE_URL": primary.url(dbname),
        "DATABASE_REPLICA_URL": replica.url(dbname),
        "REPLICA_CHECK_SECONDS": "0.2",
        "READ_YOUR_WRITES_SECONDS": "30",
        "CONN_MAX_AGE": "60",
        "WEB_CONCURRENCY": "1",
    }
    tolerant = processes.gunicorn(
        production_env(static_root, **common, REPLICA_LAG_MAX_SECONDS="3600"), "tolerant"
    )
    strict = processes.gunicorn(
        production_env(static_root, **common, REPLICA_LAG_MAX_SECONDS="1"), "strict"
    )
    manager = session_for(tolerant, keys["manager"])
    admin = session_for(tolerant, keys["admin"])
    old = world.st_marys.name
    assert old in facility_names(manager, tolerant)

    with replica.connect(dbname) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        rename_on_primary(primary, dbname, world.st_marys, "St. Mary's (renamed)")
        time.sleep(1.5)  # the standby receives the change but does not replay it
        # Lists read the replica: the old name.
        assert old in facility_names(manager, tolerant)
        # The admin writes (any successful POST): their reads go to the primary for a while.
        page = admin.get(f"{tolerant}/events/new/", timeout=60)
        assert page.status_code == 200
        post = admin.post(
            f"{tolerant}/events/new/",
            data={},
            headers={
                "X-CSRFToken": admin.cookies["csrftoken"],
                "Referer": f"{tolerant}/events/new/",
            },
            timeout=60,
        )
        assert post.status_code == 200 and "fs_wrote" in admin.cookies
        assert "St. Mary's (renamed)" in facility_names(admin, tolerant)
        assert old in facility_names(manager, tolerant)  # the manager still reads the replica
        # Past REPLICA_LAG_MAX_SECONDS the reads fall back to the primary, without an error.
        assert "St. Mary's (renamed)" in facility_names(
            session_for(strict, keys["manager"]), strict
        )
        ready = requests.get(f"{strict}/readyz", timeout=30).json()
        assert ready["checks"]["replica"]["usable"] is False
        assert ready["checks"]["replica"]["lag_seconds"] > 1
    finally:
        with replica.connect(dbname) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    wait_for(
        lambda: "St. Mary's (renamed)" in facility_names(manager, tolerant),
        timeout=30,
        what="the replica to catch up",
    )

    # Caught up, the strict instance uses the replica again and says so. (Any write on the
    # primary, a session or a login record, opens a moment of lag again: wait for a quiet one.)
    def metric(text: str, name: str) -> float:
        line = next(line for line in text.splitlines() if line.startswith(name + " "))
        return float(line.split()[1])

    def caught_up() -> bool:
        metrics = requests.get(f"{strict}/metrics", timeout=30).text
        return (0 <= metric(metrics, "fieldstock_replica_lag_seconds") <= 1
                and metric(metrics, "fieldstock_replica_in_use") == 1.0)

    wait_for(caught_up, timeout=30, what="the metrics to show the replica in use, lag <= 1 s")


def test_the_replica_stopped_during_a_report_load_costs_no_request(
    clusters, replicated_world, processes, static_root
):
    primary, replica = clusters
    world, keys, dbname = replicated_world
    base = processes.gunicorn(
        production_env(
            static_root,
            DATABASE_URL=primary.url(dbname),
            DATABASE_REPLICA_URL=replica.url(dbname),
            REPLICA_CHECK_SECONDS="0.5",
            CONN_MAX_AGE="60",
            WEB_CONCURRENCY="2",
        ),
        "app",
    )
    urls = [
        "/reports/",
        "/reports/sales/",
        "/api/v1/facilities/",
        "/api/v1/devices/",
        "/reports/?export=stock",
    ]
    stop = threading.Event()
    results: list[tuple[str, int]] = []

    def load(i: int) -> None:
        session = session_for(base, keys["manager"])
        n = i
        while not stop.is_set():
            url = urls[n % len(urls)]
            n += 1
            try:
                response = session.get(f"{base}{url}", timeout=60)
                results.append((url, response.status_code))
            except requests.RequestException as error:
                results.append((url, repr(error)))

    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(load, i) for i in range(4)]
        wait_for(lambda: len(results) >= 12, timeout=120, what="the load to start")
        before = len(results)
        replica.stop("immediate")
        wait_for(lambda: len(results) >= before + 40, timeout=120, what="requests after the stop")
        stop.set()
        for job in jobs:
            job.result()
    errors = [r for r in results if r[1] != 200]
    assert errors == [], errors[:10]
    assert len(results) > before + 40
    ready = requests.get(f"{base}/readyz", timeout=30)
    assert ready.status_code == 200  # the primary serves: the instance stays ready
    assert ready.json()["checks"]["replica"]["usable"] is False
