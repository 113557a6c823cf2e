"""Kit races on PostgreSQL: threads, each with its own connection, released together by a
barrier. Exactly one wins, the others get a rep's message, nothing is half-applied, no error
(a deadlock or a constraint violation would be one), and the ledger replays clean."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from billing.models import SalesOrder
from billing.submit import event_submit_for_billing
from events.loan_services import kit_check_in
from events.models import Event, EventLine
from inventory.kit_services import kit_add_devices, kit_transfer
from inventory.ledger import chain_problems
from inventory.models import Device, DeviceMovement, DeviceStatus, Kit, KitMovement
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import build_world
from tests.kits.conftest import build_kits

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4


def race(*calls) -> tuple[list, list[str], list[str]]:
    """Run the calls at once; (winners' results, losers' messages, errors)."""
    barrier = threading.Barrier(len(calls))
    won, lost, errors = [], [], []

    def run(call):
        try:
            barrier.wait(timeout=30)
            won.append(call())
        except ValidationError as error:
            lost.append(" ".join(error.messages))
        except Exception as error:  # noqa: BLE001 - a deadlock or a 500 would land here
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return won, lost, errors


def clean_ledger():
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []


def submit(w, case):
    return lambda: event_submit_for_billing(actor=w.rep, event=case, signature_name="Ann Rep")


def test_cases_racing_for_one_unit_of_a_loaned_kit():
    kits = build_kits(build_world())
    w = kits.world
    for round_ in range(ROUNDS):
        kit = kits.build(tag=f"R-{round_}")
        kits.loan(kit)
        unit = Device.objects.filter(kit=kit).order_by("pk")[2]
        cases = [w.event("case", actor=w.rep, name=f"case {round_}-{i}") for i in range(6)]
        for case in cases:
            w.add(case, [unit], actor=w.rep)
        won, lost, errors = race(*[submit(w, case) for case in cases])
        assert errors == [] and len(won) == 1 and len(lost) == 5
        assert set(lost) == {f"{unit.label} was already used in a case and can't be put on "
                             "another event."}
        unit.refresh_from_db()
        assert (unit.status, unit.kit_id, unit.used_in_id) == (
            DeviceStatus.CONSUMED, None, won[0].pk)
        assert SalesOrder.objects.filter(event__in=cases).count() == 1
    clean_ledger()


def test_two_check_ins_of_one_kit():
    kits = build_kits(build_world())
    w = kits.world
    for round_ in range(ROUNDS):
        kit = kits.build(tag=f"C-{round_}")
        kits.loan(kit)
        members = list(Device.objects.filter(kit=kit))
        won, lost, errors = race(
            partial(kit_check_in, actor=w.rep, kit=kit, present=members),
            partial(kit_check_in, actor=w.admin, kit=kit, present=members[1:],
                    lost=members[:1]),
        )
        assert errors == [] and len(won) == 1 and lost == [f"{kit} was already checked in."]
        assert KitMovement.objects.filter(kit=kit, kind="checked_in").count() == 1
        assert Device.objects.filter(kit=kit).count() in (4, 5)
    clean_ledger()


def test_check_in_racing_a_case_that_uses_a_loaned_unit():
    kits = build_kits(build_world())
    w = kits.world
    winners = set()
    for round_ in range(ROUNDS):
        kit = kits.build(tag=f"U-{round_}")
        kits.loan(kit)
        members = list(Device.objects.filter(kit=kit).order_by("pk"))
        case = w.event("case", actor=w.rep, name=f"case {round_}")
        w.add(case, members[:1], actor=w.rep)
        won, lost, errors = race(
            submit(w, case),
            partial(kit_check_in, actor=w.rep, kit=kit, present=members),
        )
        assert errors == [] and len(won) == 1 and len(lost) == 1
        unit = Device.objects.get(pk=members[0].pk)
        if isinstance(won[0], Event):  # the case used it; the check-in saw it gone
            winners.add("case")
            assert unit.status == DeviceStatus.CONSUMED
            assert "was used on case" in lost[0]
            assert Kit.objects.get(pk=kit.pk).status == Kit.Status.LOANED
        else:  # back in the kit at home: the case can't use it any more
            winners.add("check-in")
            assert unit.status == DeviceStatus.AVAILABLE and unit.kit_id == kit.pk
            assert "take it out of the kit first" in lost[0]
            assert Event.objects.get(pk=case.pk).status == "draft"
    clean_ledger()


def test_kit_transfer_and_packing_racing_a_case_submit():
    kits = build_kits(build_world())
    w = kits.world
    for round_ in range(ROUNDS):
        kit = kits.build(tag=f"T-{round_}", screws=2)
        [unit] = w.devices(1, product=kits.screw)
        case = w.event("case", actor=w.rep, name=f"case {round_}")
        w.add(case, [unit], actor=w.rep)  # marked while still loose
        won, lost, errors = race(
            submit(w, case),
            partial(kit_add_devices, actor=w.rep, kit=kit, devices=[unit]),
        )
        assert errors == [] and len(won) == 1 and len(lost) == 1
        unit.refresh_from_db()
        assert (unit.status == DeviceStatus.CONSUMED) == isinstance(won[0], Event)
        # Then the kit moves as one while the case is submitted again: the case can't win
        # with a unit now in a kit, the transfer never moves a sold unit.
        won, lost, errors = race(
            submit(w, case),
            partial(kit_transfer, actor=w.admin, kit=kit, to_custodian=w.rep2),
        )
        if unit.kit_id:  # the transfer wins, the case (with a kit member) is refused
            assert errors == [] and len(won) == 1 and len(lost) == 1
            assert "is in kit" in lost[0]
        else:  # the case had already won: the transfer moves the kit without that unit
            assert errors == [] and len(won) == 1
            assert lost == [f"{case} was already submitted for billing ("
                            f"{SalesOrder.objects.get(event=case).number})."]
        kit = Kit.objects.get(pk=kit.pk)
        assert kit.custodian == w.rep2
        assert {d.custodian_id for d in Device.objects.filter(kit=kit)} == {w.rep2.pk}
        assert EventLine.objects.filter(event=case, committed=True).count() <= 1
    assert DeviceMovement.objects.filter(kind="kit_transferred").count() >= ROUNDS * 2
    clean_ledger()


def test_two_kits_renamed_to_one_tag_at_once():
    """kit_update checks the tag is free, then the unique constraint decides between two
    transactions that both saw it free: one wins, the other is told, no 500."""
    from inventory.kit_services import kit_update

    kits = build_kits(build_world())
    w = kits.world
    for round_ in range(ROUNDS):
        first, second = kits.build(tag=f"T-{round_}-A"), kits.build(tag=f"T-{round_}-B")
        won, lost, errors = race(*[
            partial(kit_update, actor=w.admin, kit=kit, tag=f"NEW-{round_}",
                    template=kits.template)
            for kit in (first, second)])
        assert errors == [] and len(won) == 1
        assert lost == [f"Kit tag NEW-{round_} is already in use."]
        assert Kit.objects.filter(tag=f"NEW-{round_}").count() == 1
        assert KitMovement.objects.filter(kind="edited", kit__in=[first, second]).count() == 1
    clean_ledger()


def test_two_kits_built_with_one_tag_at_once():
    from inventory.kit_services import kit_create

    kits = build_kits(build_world())
    w = kits.world
    for round_ in range(ROUNDS):
        won, lost, errors = race(*[
            partial(kit_create, actor=w.admin, template=kits.template, tag=f"SAME-{round_}",
                    custodian=custodian) for custodian in (w.rep, w.rep2)])
        assert errors == [] and len(won) == 1
        assert lost == [f"Kit tag SAME-{round_} is already in use."]
        assert Kit.objects.filter(tag=f"SAME-{round_}").count() == 1
    clean_ledger()


def test_a_loan_facility_change_racing_a_check_in():
    """Both lock the loan first: whichever comes second sees the first's result (the check-in
    closes the loan, so the change is refused; or the units move, then come back). Never half
    applied, never a 500."""
    from events.loan_services import loan_update

    kits = build_kits(build_world())
    w = kits.world
    for round_ in range(ROUNDS):
        kit = kits.build(tag=f"F-{round_}")
        loan = kits.loan(kit)
        members = list(Device.objects.filter(kit=kit))
        won, lost, errors = race(
            partial(kit_check_in, actor=w.rep, kit=kit, present=members),
            partial(loan_update, actor=w.rep, loan=loan, date=loan.date,
                    due_back=loan.due_back, facility=w.mercy),
        )
        assert errors == [] and len(won) + len(lost) == 2
        assert lost in ([], [f"{Event.objects.get(pk=loan.pk)} is closed: its kits are back."])
        kit.refresh_from_db()
        assert kit.status == Kit.Status.AVAILABLE and kit.facility_id is None
        assert set(Device.objects.filter(kit=kit).values_list("status", "facility")) == {
            (DeviceStatus.AVAILABLE, None)}
        moved = DeviceMovement.objects.filter(kind="kit_loan_moved", kit=kit).count()
        assert moved == (5 if not lost else 0)
    clean_ledger()
