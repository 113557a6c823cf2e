"""Rule 8 for Returns on PostgreSQL: racing returns (and facility-stock cases) for one device —
exactly one wins, the loser is told why, nothing is half-applied, numbers stay gap-free."""

from collections import Counter
from decimal import Decimal

import pytest

from billing.models import CreditMemo
from commissions.models import CommissionCredit, CommissionPlan
from events.models import Event, EventLine
from inventory.ledger import chain_problems
from inventory.models import Device, DeviceMovement, DeviceStatus
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import build_world
from tests.events.test_concurrency_submit import THREADS, Racers

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def racing_drafts(world, event_types, shared):
    """One draft per type, each with the shared facility-stock device."""
    templates = {
        "return": world.event("return", actor=world.rep),
        "case": world.event("case", facility_stock_only=True, actor=world.rep),
    }
    events = Event.objects.bulk_create([
        Event(**{f.attname: getattr(templates[t], f.attname)
                 for f in Event._meta.concrete_fields if f.name != "id"} | {"name": f"{t} {i}"})
        for i, t in enumerate(event_types)
    ])
    Event.objects.filter(pk__in=[e.pk for e in templates.values()]).delete()
    EventLine.objects.bulk_create([
        EventLine(
            event=e, device=shared, sold_by_id=shared.sold_on_id,
            kind="return" if e.event_type == "return" else "usage",
            price=world.product.unit_price if e.event_type == "return" else Decimal("0.00"),
        )
        for e in events
    ])
    return events


def run(event_types):
    world = build_world()
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"),
                                  stocking_share=Decimal("0.60"))
    winners = Counter()
    with Racers(world.rep) as racers:
        for _ in range(ROUNDS):
            [shared] = world.facility_stock(1)
            events = racing_drafts(world, event_types, shared)
            won, lost, errors = racers.race(events)
            assert errors == []
            assert len(won) == 1, f"{len(won)} winners"
            winner = Event.objects.get(pk=won[0])
            winners[winner.event_type] += 1
            for message in lost:
                assert message in (
                    # the device is back in custody: it is no longer facility stock
                    f"SN {shared.serial} is rep inventory, not facility stock: only facility "
                    "stock sold to St. Mary's can be returned.",
                    f"SN {shared.serial} is rep inventory, not facility stock: facility stock "
                    "cannot be entered in a case with other rep consigned inventory.",
                    f"SN {shared.serial} was already used in a case and can't be returned.",
                    f"SN {shared.serial} was already used in a case and can't be put on "
                    "another event.",
                ), message
            device = Device.objects.get(pk=shared.pk)
            assert device.status == (DeviceStatus.AVAILABLE if winner.is_return
                                     else DeviceStatus.CONSUMED)
            losers = [e.pk for e in events if e.pk != winner.pk]
            assert set(Event.objects.filter(pk__in=losers).values_list("status", flat=True)) == {
                "draft"}
            assert not DeviceMovement.objects.filter(event_id__in=losers).exists()
            assert not CommissionCredit.objects.filter(event_id__in=losers).exists()
            assert not CreditMemo.objects.filter(event_id__in=losers).exists()
            assert not EventLine.objects.filter(event_id__in=losers, committed=True).exists()
            assert DeviceMovement.objects.filter(device=device).count() == 3
    memos = sorted(CreditMemo.objects.filter(organization=world.org)
                   .values_list("number", flat=True))
    assert memos == [f"CM-{n:06d}" for n in range(1, winners["return"] + 1)]
    assert CommissionCredit.objects.filter(kind="clawback").count() == winners["return"]
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []  # the HMAC chain holds under the race
    return winners


def test_twenty_returns_race_for_one_device():
    assert run(["return"] * THREADS) == {"return": ROUNDS}


def test_returns_race_facility_stock_cases_for_one_device():
    winners = run(["return", "case"] * (THREADS // 2))
    assert sum(winners.values()) == ROUNDS
