"""Rule 8 on PostgreSQL: racing submissions for one device — exactly one wins, nothing half-done.

Each round builds fresh drafts cheaply (one receipt, bulk-created drafts and lines), then 20
threads — each with its own database connection — wait at a barrier and submit at once.
"""

import queue
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from billing.models import SalesOrder
from billing.submit import event_submit_for_billing
from commissions.models import CommissionCredit, CommissionPlan
from events.models import Event, EventLine
from inventory.ledger import chain_problems
from inventory.models import Device, DeviceMovement, DeviceStatus, MovementKind
from inventory.selectors import ledger_discrepancies
from tests.concurrency import devices_held_meanwhile
from tests.events.conftest import build_world

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
ROUNDS = 30


def drafts_sharing_one_device(world, event_types: list[str]):
    """One draft per type; each has the shared device plus a private device of its own.

    The shared device sits in the middle of the primary keys, so half the threads lock a
    private row before the shared one and half after it: only a fixed lock order avoids deadlock.
    """
    devices = world.devices(len(event_types) + 1)
    middle = len(event_types) // 2
    shared = devices[middle]
    private = devices[:middle] + devices[middle + 1:]
    templates = {t: world.event(t, actor=world.rep) for t in set(event_types)}
    events = Event.objects.bulk_create([
        Event(**{
            f.attname: getattr(templates[t], f.attname)
            for f in Event._meta.concrete_fields if f.name != "id"
        } | {"name": f"{t} {i}"})
        for i, t in enumerate(event_types)
    ])
    Event.objects.filter(pk__in=[e.pk for e in templates.values()]).delete()
    price = world.product.unit_price
    EventLine.objects.bulk_create(
        [EventLine(event=e, device=shared, price=price) for e in events]
        + [EventLine(event=e, device=d, price=price) for e, d in zip(events, private, strict=True)]
    )
    return shared, dict(zip([e.pk for e in events], private, strict=True)), events


class Racers:
    """``n`` threads, each with its own database connection, kept for every round.

    Each round hands every thread one event; a barrier releases them together; every thread
    reports ("won", pk), ("lost", message) or ("error", repr) — a deadlock would be an error.
    Each thread closes its connection when the racers are dismissed.
    """

    def __init__(self, actor, n: int = THREADS):
        self.actor = actor
        self.barrier = threading.Barrier(n)
        self.inboxes = [queue.Queue() for _ in range(n)]
        self.results = queue.Queue()
        self.threads = [threading.Thread(target=self.work, args=(inbox,), daemon=True)
                        for inbox in self.inboxes]
        for thread in self.threads:
            thread.start()

    def work(self, inbox):
        try:
            while (event := inbox.get()) is not None:
                try:
                    self.barrier.wait(timeout=30)
                    event_submit_for_billing(actor=self.actor, event=event,
                                             signature_name="Ann Rep")
                    self.results.put(("won", event.pk))
                except ValidationError as error:
                    self.results.put(("lost", " ".join(error.messages)))
                except Exception as error:  # a deadlock or a constraint violation
                    self.results.put(("error", repr(error)))
        finally:
            connection.close()

    def race(self, events) -> tuple[list[int], list[str], list[str]]:
        assert len(events) == len(self.inboxes)
        for inbox, event in zip(self.inboxes, events, strict=True):
            inbox.put(event)
        outcome = {"won": [], "lost": [], "error": []}
        for _ in events:
            what, detail = self.results.get(timeout=60)  # no answer in time: a hang
            outcome[what].append(detail)
        return outcome["won"], outcome["lost"], outcome["error"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in self.threads)


def assert_one_winner(shared, private, events, won, lost, errors, expected_status):
    assert errors == []
    assert len(won) == 1, f"{len(won)} winners"
    assert len(lost) == len(events) - 1
    for message in lost:
        # The loser read the row the winner left (found by this test: the facility used to be
        # read stale from before the wait, so reps saw "facility stock of None").
        assert message in (
            f"SN {shared.serial} is facility stock of St. Mary's, already sold, and can't be "
            "sold again.",
            f"SN {shared.serial} is facility stock of St. Mary's, already sold, and can't be "
            "sold again. Tick “Show Facility Stock items only” to record its use.",  # a case
            f"SN {shared.serial} was already used in a case and can't be put on another event.",
        ), message
    winner = won[0]
    shared = Device.objects.get(pk=shared.pk)
    assert shared.status == expected_status[Event.objects.get(pk=winner).event_type]
    assert shared.sold_on_id == winner
    # One ledger row per change: the receipt and the sale, nothing from the losers.
    assert list(DeviceMovement.objects.filter(device=shared).order_by("at", "id")
                .values_list("kind", "event_id")) == [
        (MovementKind.RECEIVED, None),
        (Event.objects.get(pk=winner).is_stocking_order and MovementKind.SOLD_TO_FACILITY
         or MovementKind.SOLD_AND_CONSUMED, winner),
    ]
    losers = [e.pk for e in events if e.pk != winner]
    assert set(Event.objects.filter(pk__in=losers).values_list("status", flat=True)) == {"draft"}
    assert not SalesOrder.objects.filter(event_id__in=losers).exists()
    assert not CommissionCredit.objects.filter(event_id__in=losers).exists()
    assert not DeviceMovement.objects.filter(event_id__in=losers).exists()
    assert not EventLine.objects.filter(event_id__in=losers, committed=True).exists()
    # The losers' private devices were not touched: no half-applied event.
    untouched = [private[pk].pk for pk in losers]
    assert set(Device.objects.filter(pk__in=untouched).values_list(
        "status", "custodian_id", "sold_on_id")) == {(DeviceStatus.AVAILABLE, shared.custodian_id
                                                      or private[losers[0]].custodian_id, None)}
    assert DeviceMovement.objects.filter(device_id__in=untouched).count() == len(untouched)
    # The winner applied everything: both of its devices, its credits, its sales order.
    assert Device.objects.get(pk=private[winner].pk).sold_on_id == winner
    assert CommissionCredit.objects.filter(event_id=winner).count() == 2
    assert SalesOrder.objects.filter(event_id=winner).count() == 1


EXPECTED = {"stocking_order": DeviceStatus.FACILITY_STOCK, "case": DeviceStatus.CONSUMED}


def run_rounds(event_types):
    world = build_world()
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"),
                                  stocking_share=Decimal("0.60"))
    winners = Counter()
    with Racers(world.rep) as racers:
        for _ in range(ROUNDS):
            shared, private, events = drafts_sharing_one_device(world, event_types)
            won, lost, errors = racers.race(events)
            assert_one_winner(shared, private, events, won, lost, errors, EXPECTED)
            winners[Event.objects.get(pk=won[0]).event_type] += 1
    # Winners' sales orders are numbered without gaps or duplicates across the rounds.
    numbers = sorted(SalesOrder.objects.filter(organization=world.org)
                     .values_list("number", flat=True))
    assert numbers == [f"SO-{n:06d}" for n in range(1, ROUNDS + 1)]
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []  # the HMAC chain holds under the race
    return winners


def test_twenty_stocking_orders_race_for_one_device():
    winners = run_rounds(["stocking_order"] * THREADS)
    assert winners == {"stocking_order": ROUNDS}


def test_cases_race_stocking_orders_for_one_device():
    winners = run_rounds(["case", "stocking_order"] * (THREADS // 2))
    assert sum(winners.values()) == ROUNDS


def test_facility_stock_cases_race_for_one_facility_stock_device():
    """Twenty covering reps' cases race to consume one facility-stock device; one wins."""
    world = build_world()
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"),
                                  stocking_share=Decimal("0.60"))
    rounds = 5
    racers = Racers(world.rep)
    for _ in range(rounds):
        [device] = world.facility_stock(1)
        template = world.event("case", facility_stock_only=True, actor=world.rep)
        events = Event.objects.bulk_create([
            Event(**{f.attname: getattr(template, f.attname)
                     for f in Event._meta.concrete_fields if f.name != "id"})
            for _ in range(THREADS)
        ])
        template.delete()
        EventLine.objects.bulk_create([
            EventLine(event=e, device=device, kind="usage", price=0, sold_by_id=device.sold_on_id)
            for e in events
        ])
        won, lost, errors = racers.race(events)
        assert errors == []
        assert len(won) == 1
        assert all(f"SN {device.serial} was already used in a case" in m for m in lost), lost
        device.refresh_from_db()
        assert (device.status, device.used_in_id) == (DeviceStatus.CONSUMED, won[0])
        assert CommissionCredit.objects.filter(device=device, kind="usage").count() == 1
        assert DeviceMovement.objects.filter(device=device).count() == 3
    racers.__exit__()
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []  # the HMAC chain holds under the race


def test_a_submission_that_waited_for_a_lock_is_recorded_after_what_it_waited_for():
    """The ledger's order is the order things happened, even when a submission had to wait.

    An admin transaction holds the device row and moves it rep → rep2 → rep meanwhile; the
    stocking order waits for the lock, then sells the device. Its movement must come after the
    transfers (``at`` is taken under the lock), or the ledger would not replay.
    """
    from inventory.services import devices_transfer

    world = build_world()
    [device] = world.devices(1)
    order = world.event("stocking_order")
    world.add(order, [device])

    def there_and_back():
        devices_transfer(actor=world.admin, devices=[device], to_custodian=world.rep2)
        devices_transfer(actor=world.admin, devices=[device], to_custodian=world.rep)

    with devices_held_meanwhile([device.pk], seconds=1.0, then=there_and_back):
        world.submit(order)  # waits for the row
    assert list(DeviceMovement.objects.filter(device=device).order_by("at", "id")
                .values_list("kind", flat=True)) == [
        MovementKind.RECEIVED, MovementKind.TRANSFERRED, MovementKind.TRANSFERRED,
        MovementKind.SOLD_TO_FACILITY,
    ]
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []  # the HMAC chain holds under the race


def test_a_double_clicked_submit_bills_once():
    """Five submissions of the same draft at once: one sales order, the others are told why."""
    world = build_world()
    devices = world.devices(2)
    case = world.event("case")
    world.add(case, devices)
    with Racers(world.rep, n=5) as racers:
        won, lost, errors = racers.race([case] * 5)
    assert errors == []
    assert won == [case.pk]
    assert lost == ["case event was already submitted for billing (SO-000001)."] * 4
    assert SalesOrder.objects.filter(event=case).count() == 1
    assert DeviceMovement.objects.filter(event=case).count() == 2
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []  # the HMAC chain holds under the race
