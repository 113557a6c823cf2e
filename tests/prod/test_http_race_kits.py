"""Kit races through real HTTP: two production app instances (gunicorn, DEBUG off) on one
PostgreSQL. Each round, check-ins of one loaned kit and Submit For Billing of cases that all
hold the same unit of another loaned kit leave at once, split over the two instances. Exactly one
check-in and one submission win, every other request gets a page with a message (never a 5xx),
and the ledger replays cleanly afterwards."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from billing.models import SalesOrder
from inventory.models import Device, DeviceStatus, Kit, KitMovement
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import build_world
from tests.kits.conftest import build_kits
from tests.prod.conftest import logged_in, production_env

pytestmark = pytest.mark.prod

ROUNDS = 3
CHECK_INS = 4
SUBMITS = 6


def test_racing_check_ins_and_case_submits_over_two_instances(processes, static_root):
    kits = build_kits(build_world())
    w = kits.world
    env = production_env(static_root)
    servers = [processes.gunicorn(env, "app1"), processes.gunicorn(env, "app2")]
    n = CHECK_INS + SUBMITS
    clients = [logged_in(servers[i % 2], w.rep) for i in range(n)]
    barrier = threading.Barrier(n)

    def fire(i: int, url: str, data) -> requests.Response:
        barrier.wait(timeout=60)
        return clients[i].post(url, data=data, allow_redirects=False, timeout=120)

    with ThreadPoolExecutor(max_workers=n) as pool:
        for round_no in range(ROUNDS):
            back = kits.build(tag=f"H-{round_no}")
            loan = kits.loan(back)
            members = [d.pk for d in Device.objects.filter(kit=back)]
            used_kit = kits.build(tag=f"HU-{round_no}")
            kits.loan(used_kit)
            shared = Device.objects.filter(kit=used_kit).order_by("pk").first()
            cases = [w.event("case", actor=w.rep, name=f"R{round_no} case {i}")
                     for i in range(SUBMITS)]
            for case in cases:
                w.add(case, [shared], actor=w.rep)
            jobs = [pool.submit(fire, i, f"{servers[i % 2]}/events/loans/{loan.pk}/kits/"
                                         f"{back.pk}/check-in/", {"present": members})
                    for i in range(CHECK_INS)]
            jobs += [pool.submit(fire, CHECK_INS + j,
                                 f"{servers[(CHECK_INS + j) % 2]}/events/{case.pk}/submit/",
                                 {"signature_name": "Ann Rep", "attest": "on"})
                     for j, case in enumerate(cases)]
            responses = [job.result() for job in jobs]
            statuses = [r.status_code for r in responses]
            assert all(code < 500 for code in statuses), (round_no, statuses)
            check_ins = responses[:CHECK_INS]
            # The winner is redirected to the kit page; a loser sees the check-in page again
            # (200, "already checked in") or is sent to the kit page saying it is back.
            assert Kit.objects.get(pk=back.pk).status == Kit.Status.AVAILABLE
            assert Device.objects.filter(kit=back, status=DeviceStatus.AVAILABLE).count() == 5
            assert KitMovement.objects.filter(kit=back, kind="checked_in").count() == 1
            for r in check_ins:
                assert r.status_code == 302 or "already checked in" in r.text, r.text[:300]
            assert SalesOrder.objects.filter(event__in=cases).count() == 1
            shared.refresh_from_db()
            assert shared.status == DeviceStatus.CONSUMED and shared.kit_id is None
    assert list(ledger_discrepancies(organization_id=w.org.pk)) == []
