"""Rule 8 through real HTTP: two production app instances (gunicorn, DEBUG off) on one PostgreSQL.

Each round, 20 requests leave at once: 10 "Submit For Billing" of drafts that all hold the same
device, and 10 "add that device" to other drafts, split over the two instances. Exactly one
submission wins, every other request gets a page with a message (never a 5xx), and the ledger
replays cleanly afterwards.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from billing.models import SalesOrder
from events.models import Event
from inventory.models import Device, DeviceStatus
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import build_world
from tests.events.test_concurrency_submit import drafts_sharing_one_device
from tests.prod.conftest import logged_in, production_env

pytestmark = pytest.mark.prod

ROUNDS = 10
SUBMITS = 10
ADDS = 10


def test_racing_submits_and_adds_over_two_instances(processes, static_root):
    world = build_world()
    env = production_env(static_root)
    servers = [processes.gunicorn(env, "app1"), processes.gunicorn(env, "app2")]
    clients = [logged_in(servers[i % 2], world.rep) for i in range(SUBMITS + ADDS)]
    barrier = threading.Barrier(SUBMITS + ADDS)

    def fire(i: int, url: str, data: dict, htmx: bool) -> requests.Response:
        headers = {"HX-Request": "true"} if htmx else {}
        barrier.wait(timeout=60)
        return clients[i].post(url, data=data, headers=headers, allow_redirects=False,
                                timeout=120)

    failures = []
    with ThreadPoolExecutor(max_workers=SUBMITS + ADDS) as pool:
        for round_no in range(ROUNDS):
            shared, _private, drafts = drafts_sharing_one_device(
                world, ["stocking_order"] * SUBMITS
            )
            targets = Event.objects.bulk_create([
                Event(**{f.attname: getattr(drafts[0], f.attname)
                         for f in Event._meta.concrete_fields if f.name != "id"}
                      | {"name": f"Round {round_no} add {i}"})
                for i in range(ADDS)
            ])
            jobs = []
            for i, draft in enumerate(drafts):
                url = f"{servers[i % 2]}/events/{draft.pk}/submit/"
                jobs.append(pool.submit(fire, i, url,
                                        {"signature_name": "Ann Rep", "attest": "on"}, False))
            for j, target in enumerate(targets):
                i = SUBMITS + j
                url = f"{servers[i % 2]}/events/{target.pk}/add/"
                jobs.append(pool.submit(fire, i, url, {"device": shared.pk}, True))
            responses = [job.result() for job in jobs]

            statuses = [r.status_code for r in responses]
            assert all(code < 500 for code in statuses), (round_no, statuses,
                                                          [r.text[:300] for r in responses
                                                           if r.status_code >= 500])
            submits, adds = responses[:SUBMITS], responses[SUBMITS:]
            # Won or refused, a submit goes back to the event page; the page says which.
            assert [r.status_code for r in submits] == [302] * SUBMITS, round_no
            pages = [clients[i].get(f"{servers[i % 2]}{r.headers['Location']}", timeout=120).text
                     for i, r in enumerate(submits)]
            won = [text for text in pages if "was submitted for billing: sales order" in text]
            lost = [text for text in pages if "was submitted for billing: sales order" not in text]
            assert len(won) == 1, (round_no, len(won))
            for text in lost:
                assert f"SN {shared.serial} is facility stock of St. Mary&#x27;s" in text
            for response in adds:  # added before the sale committed, or refused with the reason
                assert response.status_code == 200
                assert (f"Added SN {shared.serial}" in response.text
                        or f"SN {shared.serial} is facility stock" in response.text), \
                    response.text[:500]
            shared.refresh_from_db()
            winner = SalesOrder.objects.get(event__in=drafts)
            if shared.status != DeviceStatus.FACILITY_STOCK or shared.sold_on_id != winner.event_id:
                failures.append(round_no)
    assert failures == []
    assert SalesOrder.objects.count() == ROUNDS
    # Each winner sold the shared device and its own private one; the losers sold nothing.
    assert Device.objects.filter(status=DeviceStatus.FACILITY_STOCK).count() == ROUNDS * 2
    assert list(ledger_discrepancies(organization_id=world.org.pk)) == []
