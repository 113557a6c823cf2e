"""A streamed CSV export read from the replica when the replica dies (docs/scaling.md "A replica
that dies mid-download").

A CSV export writes its header before its first query. The replica stopped (immediate) after the
instance last checked it: the export's first query fails on the replica after the header was
made. Before, the header had been sent already: the client got "200 OK" and a download cut off
after its header, and the replica stayed "usable" until the next check (REPLICA_CHECK_SECONDS), so
every export until then broke the same way. Now the first chunk is held back until the second is
made: nothing read from the replica had been sent, so the whole export is made again on the
primary, complete, and the replica is marked down at once.
"""

from __future__ import annotations

import uuid

import pytest

from tests.events.conftest import build_world
from tests.prod.clusters import Cluster, copy_database, wait_for
from tests.prod.conftest import database_url, production_env
from tests.prod.test_replica import session_for, signed_in_key

pytestmark = pytest.mark.prod


def test_an_export_whose_replica_died_is_made_again_on_the_primary(
    transactional_db, processes, static_root
):
    world = build_world()
    world.stocking_order(world.devices(3, expires_in_days=20))  # facility stock expiring soon
    key = signed_in_key(world.manager)
    primary = Cluster.primary()
    replica = None
    try:
        replica = primary.standby()
        dbname = f"fs_{uuid.uuid4().hex[:10]}"
        copy_database(database_url(), primary, dbname)

        def replayed() -> bool:
            with replica.connect(dbname) as conn:
                return conn.execute(
                    "SELECT count(*) FROM inventory_device WHERE status = 'facility_stock'"
                ).fetchone()[0] == 3

        wait_for(replayed, timeout=300, what="the standby to replay the copied database")
        base = processes.gunicorn(
            production_env(
                static_root, DATABASE_URL=primary.url(dbname),
                DATABASE_REPLICA_URL=replica.url(dbname),
                # The instance's own check would notice the stop only after this.
                REPLICA_CHECK_SECONDS="600", CONN_MAX_AGE="60", WEB_CONCURRENCY="1",
            ),
            "app",
        )
        manager = session_for(base, key)
        url = f"{base}/reports/?export=expiring"
        first = manager.get(url, timeout=120)
        assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/csv")
        lines = first.content.rstrip(b"\r\n").split(b"\r\n")
        assert len(lines) == 4, lines  # the header and three devices, read on the replica
        assert manager.get(f"{base}/readyz", timeout=60).json()["checks"]["replica"]["usable"]

        replica.stop("immediate")
        # The same export: complete, from the primary (not a download cut off after its header).
        again = manager.get(url, timeout=120)
        assert again.status_code == 200
        assert again.content == first.content
        ready = manager.get(f"{base}/readyz", timeout=60)
        assert ready.status_code == 200
        assert ready.json()["checks"]["replica"]["usable"] is False
    finally:
        if replica is not None:
            replica.remove()
        primary.remove()
