"""The app through pgbouncer in transaction mode (DATABASE_POOLER=pgbouncer), on real processes.

pgbouncer is set up the way that breaks a careless client: several server connections, used in
turn (server_round_robin), so consecutive transactions of one client land on different server
connections. A server-side cursor (QuerySet.iterator(), the streamed CSV exports) declared in one
transaction and fetched in the next is then not found; the settings turn them off, and psycopg
prepares no statements."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.conf import settings

from billing.models import SalesOrder
from events.models import EventStatus
from inventory.models import Device, DeviceStatus
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import build_world
from tests.prod.clusters import Pgbouncer
from tests.prod.conftest import logged_in, production_env

pytestmark = pytest.mark.prod


@pytest.fixture
def pgbouncer(transactional_db):
    db = settings.DATABASES["default"]
    bouncer = Pgbouncer(
        host=db.get("HOST") or "127.0.0.1",
        port=int(db.get("PORT") or 5432),
        dbname=db["NAME"],
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or "",
        pool_size=4,
    )
    yield bouncer
    bouncer.stop()


def test_a_server_side_cursor_breaks_behind_this_pgbouncer(pgbouncer):
    """Why the settings matter: a cursor declared in one transaction is fetched in the next; when
    another client took that server connection meanwhile, the fetch runs on another one."""

    def connect(**kwargs):
        return psycopg.connect(
            host="127.0.0.1",
            port=pgbouncer.port,
            user=pgbouncer.user,
            dbname=pgbouncer.name,
            **kwargs,
        )

    with connect(autocommit=True) as reader, connect() as other:
        cursor = reader.cursor(name="held", withhold=True)
        cursor.execute("SELECT generate_series(1, 10)")  # DECLARE … WITH HOLD: its own transaction
        other.execute("SELECT 1")  # another client's open transaction takes that server connection
        with pytest.raises(psycopg.errors.InvalidCursorName):
            cursor.fetchmany(5)
        other.rollback()


def test_exports_and_submit_through_pgbouncer(pgbouncer, processes, static_root):
    world = build_world()
    sold = world.stocking_order(world.devices(3))  # facility stock to export
    draft = world.event("stocking_order")
    devices = world.devices(2)
    world.add(draft, devices)
    env = production_env(
        static_root,
        DATABASE_URL=pgbouncer.url(),
        DATABASE_POOLER="pgbouncer",
        CONN_MAX_AGE="60",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
    )
    base = processes.gunicorn(env)
    admin = logged_in(base, world.admin)

    # Streamed CSV exports that read with QuerySet.iterator(), eight at a time over the
    # instance's threads (their transactions interleave on pgbouncer's server connections).
    def export(i: int) -> tuple[int, str]:
        url = "/inventory/export.csv" if i % 2 else "/reports/?export=where_used"
        response = admin.get(f"{base}{url}", timeout=120)
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(export, range(24)))
    assert [code for code, _ in results] == [200] * 24, [t[-500:] for c, t in results if c != 200]
    for i, (_, text) in enumerate(results):
        if i % 2:
            assert len(text.strip().splitlines()) == 1 + Device.objects.count() == 6
        else:
            assert text.startswith("Date,Case,Facility,Surgeon")

    # A submit: the whole transaction on one server connection, applied once.
    response = admin.post(
        f"{base}/events/{draft.pk}/submit/",
        data={"signature_name": "Ann Admin", "attest": "on"},
        allow_redirects=False,
        timeout=120,
    )
    assert response.status_code == 302, response.text[-2000:]
    draft.refresh_from_db()
    assert draft.status != EventStatus.DRAFT
    assert SalesOrder.objects.filter(event=draft).count() == 1
    assert set(
        Device.objects.filter(pk__in=[d.pk for d in devices]).values_list("status", flat=True)
    ) == {DeviceStatus.FACILITY_STOCK}
    assert SalesOrder.objects.filter(event=sold).count() == 1
    assert list(ledger_discrepancies()) == []
    log = (processes.tmp_path / "app.log").read_text()
    assert "InvalidCursorName" not in log and "does not exist" not in log
    assert "Traceback" not in log
