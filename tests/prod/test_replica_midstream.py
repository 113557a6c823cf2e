"""The replica stopped while a long export streams from it through a server-side cursor
(docs/scaling.md "A replica that dies mid-download"), through nginx as a user reaches it.

The dashboard's where-used export (``/reports/?export=where_used``) is read on the replica
(``replica_reads``) with ``QuerySet.iterator()``: with no pooler in front (server-side cursors on)
it fetches 2,000 rows at a time from a cursor on the replica while the CSV is sent. Here it has
10,000 rows; the client reads its first kilobytes slowly (a small receive buffer holds the server
back), the replica is stopped (immediate), then the client reads on. The rows already sent came
from the replica and cannot be finished elsewhere, so what the user must get is a download that
visibly failed — the chunked body ends without its last chunk, which browsers and HTTP clients
report as a failed download — never a shorter CSV that looks complete. Then the next export is
whole, from the primary; the instance keeps serving, /readyz reports the replica down, no 500.

The 10,000 used devices are cloned by SQL in the test's own copy of the database on the primary
(devices, then one committed usage line each, like the one the services made): made through the
services, each submit would render a 10,000-line PDF.
"""

from __future__ import annotations

import http.client
import socket
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.events.conftest import build_world
from tests.prod.clusters import Cluster, copy_database, wait_for
from tests.prod.conftest import database_url, production_env, start_nginx
from tests.prod.test_replica import session_for, signed_in_key

pytestmark = pytest.mark.prod

ROWS = 10_000
EXPORT = "/reports/?export=where_used"


def columns(conn: psycopg.Connection, table: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND column_name <> 'id' ORDER BY ordinal_position", [table])]


def clone_used_devices(conn: psycopg.Connection, *, device_id: int, line_id: int, n: int) -> None:
    """``n`` copies of a consumed device (serial "<serial>-k") and of its committed usage line."""
    device_cols, line_cols = columns(conn, "inventory_device"), columns(conn, "events_eventline")
    device_values = ["serial || '-' || k" if c == "serial" else c for c in device_cols]
    line_values = ["copy.id" if c == "device_id" else f"line.{c}" for c in line_cols]
    conn.execute(
        f"WITH copy AS (INSERT INTO inventory_device ({', '.join(device_cols)}) "
        f"SELECT {', '.join(device_values)} FROM inventory_device, generate_series(1, %s) k "
        f"WHERE id = %s RETURNING id) "
        f"INSERT INTO events_eventline ({', '.join(line_cols)}) "
        f"SELECT {', '.join(line_values)} FROM events_eventline line, copy WHERE line.id = %s",
        [n, device_id, line_id],
    )


class SlowClient(http.client.HTTPConnection):
    """An HTTP/1.1 client with a small receive buffer: while it does not read, the server is
    held back within a few hundred kilobytes of what it read."""

    def connect(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))


def test_a_replica_stopped_mid_export_fails_the_download_visibly_then_the_primary_serves(
    transactional_db, processes, static_root, tmp_path
):
    world = build_world()
    [device] = world.facility_stock(1)
    case = world.event("case", surgeon="Dr. Grey", facility_stock_only=True)
    world.add(case, [device])
    world.submit(case)
    [line] = case.lines.all()
    key = signed_in_key(world.manager)
    primary = Cluster.primary()
    replica = None
    try:
        replica = primary.standby()
        dbname = f"fs_{uuid.uuid4().hex[:10]}"
        copy_database(database_url(), primary, dbname)
        with primary.connect(dbname) as conn:
            clone_used_devices(conn, device_id=device.pk, line_id=line.pk, n=ROWS - 1)

        def replayed() -> bool:
            with replica.connect(dbname) as conn:
                return conn.execute(
                    "SELECT count(*) FROM events_eventline WHERE kind = 'usage'"
                ).fetchone()[0] == ROWS

        wait_for(replayed, timeout=300, what="the standby to replay the copied database")
        app = processes.gunicorn(
            production_env(
                static_root, DATABASE_URL=primary.url(dbname),
                DATABASE_REPLICA_URL=replica.url(dbname),
                # The instance's own check would notice the stop only after this: the export
                # itself meets the stopped replica.
                REPLICA_CHECK_SECONDS="600", CONN_MAX_AGE="60", WEB_CONCURRENCY="1",
            ),
            "app",
        )
        address = app.removeprefix("http://")
        base = start_nginx(processes, tmp_path, [address, address])
        manager = session_for(base, key)
        whole = manager.get(f"{base}{EXPORT}", timeout=300)
        assert whole.status_code == 200 and whole.headers["Content-Type"].startswith("text/csv")
        assert len(whole.content.rstrip(b"\r\n").split(b"\r\n")) == ROWS + 1  # header + rows
        assert manager.get(f"{base}/readyz", timeout=60).json()["checks"]["replica"]["usable"]

        client = SlowClient("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=300)
        client.request("GET", EXPORT, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={key}"})
        response = client.getresponse()
        assert response.status == 200
        received = response.read(16_384)  # the header and the first rows, from the replica
        assert received.startswith(whole.content[:100])
        replica.stop("immediate")
        with pytest.raises(http.client.IncompleteRead) as broken:
            received += response.read()
        received += broken.value.partial
        client.close()
        # Cut short, and said so: fewer rows than the whole export, and the client knows.
        assert len(received) < len(whole.content)
        assert whole.content.startswith(received)

        # The next export: whole, from the primary (the replica was marked down by the failure).
        again = manager.get(f"{base}{EXPORT}", timeout=300)
        assert again.status_code == 200
        assert again.content == whole.content
        ready = manager.get(f"{base}/readyz", timeout=60)
        assert ready.status_code == 200
        assert ready.json()["checks"]["replica"]["usable"] is False
        assert manager.get(f"{base}/reports/", timeout=120).status_code == 200
    finally:
        if replica is not None:
            replica.remove()
        primary.remove()
