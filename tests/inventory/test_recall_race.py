"""A case submit racing the recall that quarantines its unit (PostgreSQL, threads): one order
wins — the case consumes the unit (the recall finds it used, not active) or the recall
quarantines it (the case is refused naming the recall) — never both, never a 500-worthy error.

Each round: a fresh lot in the rep's custody (the shared unit plus units of other lots on the
case), a draft case marking them, and several threads released by a barrier: one submits the
case, the others open recalls of the lot (only one recall per reference; the others lose on the
duplicate reference or take nothing)."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from billing.submit import event_submit_for_billing
from events.models import Event
from inventory.ledger import chain_problems
from inventory.models import Device, DeviceMovement, DeviceStatus, MovementKind, RecallUnit
from inventory.recall_services import recall_open
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import build_world

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 12
RECALLERS = 3


def race_round(world, n: int) -> str:
    lot = f"LOT-RACE-{n}"
    [shared] = world.devices(1, lot=lot)
    others = world.devices(2, lot=f"LOT-SAFE-{n}")
    case = world.event("case", actor=world.rep)
    world.add(case, [shared, *others], actor=world.rep)
    barrier = threading.Barrier(1 + RECALLERS)
    results: list[tuple[str, str]] = []

    def submit():
        try:
            barrier.wait(timeout=30)
            event_submit_for_billing(actor=world.rep, event=case, signature_name="Ann Rep")
            results.append(("case won", ""))
        except ValidationError as error:
            results.append(("case lost", " ".join(error.messages)))
        except Exception as error:  # a deadlock, a constraint violation: a 500
            results.append(("error", repr(error)))
        finally:
            connection.close()

    def recall(i):
        try:
            barrier.wait(timeout=30)
            recall_open(
                actor=world.admin,
                manufacturer=world.maker,
                reference=f"R-{n}-{i}",
                reason="Race",
                recall_class="I",
                action="return",
                scope="lots",
                lots=[lot],
            )
            results.append(("recall", ""))
        except ValidationError as error:
            results.append(("recall refused", " ".join(error.messages)))
        except Exception as error:
            results.append(("error", repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit)] + [
        threading.Thread(target=recall, args=(i,)) for i in range(RECALLERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert [r for r in results if r[0] == "error"] == []
    assert len(results) == 1 + RECALLERS

    shared = Device.objects.get(pk=shared.pk)
    case = Event.objects.get(pk=case.pk)
    kinds = list(
        DeviceMovement.objects.filter(device=shared).order_by("id").values_list("kind", flat=True)
    )
    [case_result] = [r for r in results if r[0].startswith("case")]
    if case_result[0] == "case won":
        # The case came first: the unit is used; no recall took it.
        assert shared.status == DeviceStatus.CONSUMED and case.status != "draft"
        assert kinds == [MovementKind.RECEIVED, MovementKind.SOLD_AND_CONSUMED]
        assert not RecallUnit.objects.filter(device=shared).exists()
        return "case"
    # A recall came first: the unit is quarantined once, the case refused naming the recall
    # and nothing of it applied (its other units untouched).
    assert "is quarantined under recall R-" in case_result[1], case_result[1]
    assert shared.status == DeviceStatus.QUARANTINED and case.status == "draft"
    assert kinds == [MovementKind.RECEIVED, MovementKind.QUARANTINED]
    assert RecallUnit.objects.filter(device=shared).count() == RECALLERS
    assert set(
        Device.objects.filter(pk__in=[d.pk for d in others]).values_list("status", flat=True)
    ) == {DeviceStatus.AVAILABLE}
    assert not DeviceMovement.objects.filter(event=case).exists()
    return "recall"


def test_a_case_submit_races_the_quarantine_of_its_unit():
    world = build_world()
    outcomes = [race_round(world, n) for n in range(ROUNDS)]
    assert set(outcomes) <= {"case", "recall"}
    assert list(ledger_discrepancies(organization_id=world.org.pk)) == []
    assert list(chain_problems(organization_id=world.org.pk)) == []
