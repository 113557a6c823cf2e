"""Recalls in inventory: scope (lots, serial range, product + expiry window), quarantine of every
holder and kit through the lifecycle, receipts in scope, refusals naming the recall, the way
back (Return, stock adjustment), and ``verify_ledger``'s replay of it all."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from events.models import Event
from inventory.ledger import chain_problems
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    MovementKind,
    Recall,
    RecallHolder,
    RecallUnit,
    StockAdjustment,
    StockAdjustmentLine,
)
from inventory.recall_services import recall_open
from inventory.selectors import ledger_discrepancies
from inventory.services import (
    AdjustmentLine,
    devices_transfer,
    stock_adjustment_create,
)
from tests.events.conftest import in_days
from tests.factories import AdminFactory, ProductFactory, receive

Q = DeviceStatus.QUARANTINED


def open_recall(world, *, reference="R-2026-001", scope="lots", **scope_fields) -> Recall:
    scope_fields.setdefault("lots", ["LOT-R"] if scope == "lots" else [])
    return recall_open(
        actor=world.admin,
        manufacturer=world.maker,
        reference=reference,
        reason="Thread may strip under torque.",
        recall_class="II",
        action="return",
        scope=scope,
        **scope_fields,
    )


def fresh(devices) -> list[Device]:
    return list(Device.objects.filter(pk__in=[d.pk for d in devices]).order_by("pk"))


def ledger_is_clean(world) -> None:
    assert list(chain_problems(organization_id=world.org.pk)) == []
    assert list(ledger_discrepancies(organization_id=world.org.pk)) == []


def test_a_lot_recall_quarantines_every_holder_and_kit(world):
    from events.loan_services import loan_create
    from inventory.kit_services import kit_create, kit_template_create

    rep_units = world.devices(2, lot="LOT-R")
    warehouse_units = world.devices(1, lot="LOT-R", custodian=world.admin)
    in_transit = world.devices(1, lot="LOT-R")
    devices_transfer(actor=world.rep, devices=in_transit, to_custodian=world.rep2)
    shelf = world.devices(2, lot="LOT-R")
    world.stocking_order(shelf[:1], facility=world.st_marys)
    world.stocking_order(shelf[1:], facility=world.mercy)
    template = kit_template_create(
        actor=world.admin, name="Set", product_line=world.line, items=[(world.product, 4)]
    )
    kit_units = world.devices(2, lot="LOT-R")
    kit_create(
        actor=world.admin,
        template=template,
        tag="KIT-1",
        custodian=world.rep,
        devices=kit_units[:1],
    )
    loaned_kit = kit_create(
        actor=world.admin,
        template=template,
        tag="KIT-2",
        custodian=world.rep,
        devices=kit_units[1:],
    )
    loan_create(
        actor=world.admin,
        kits=[loaned_kit],
        facility=world.mercy,
        representative=world.rep,
        date=in_days(1),
        due_back=in_days(5),
    )
    other_lot = world.devices(1, lot="LOT-OK")
    consumed = world.devices(1, lot="LOT-R")
    case = world.event("case")
    world.add(case, consumed)
    world.submit(case)
    before = {
        d.pk: (d.custodian_id, d.facility_id, d.kit_id, d.sold_on_id)
        for d in fresh(rep_units + warehouse_units + in_transit + shelf + kit_units)
    }

    recall = open_recall(world)

    taken = rep_units + warehouse_units + in_transit + shelf + kit_units
    for device in fresh(taken):
        assert device.status == Q
        # quarantined where it was: custody, facility, kit, the sale stay; the transit ends
        assert (
            device.custodian_id,
            device.facility_id,
            device.kit_id,
            device.sold_on_id,
        ) == before[device.pk]
        assert device.pending_transfer_id is None
    assert Device.objects.get(pk=other_lot[0].pk).status == DeviceStatus.AVAILABLE
    assert Device.objects.get(pk=consumed[0].pk).status == DeviceStatus.CONSUMED
    units = {u.device_id: u for u in RecallUnit.objects.filter(recall=recall)}
    assert set(units) == {d.pk for d in taken}
    assert units[warehouse_units[0].pk].holder == RecallHolder.WAREHOUSE
    assert units[rep_units[0].pk].holder == RecallHolder.REP
    assert units[shelf[0].pk].holder == RecallHolder.FACILITY
    assert units[shelf[1].pk].facility_id == world.mercy.pk
    assert units[in_transit[0].pk].in_transit
    assert units[kit_units[1].pk].from_status == DeviceStatus.LOANED
    moves = DeviceMovement.objects.filter(kind=MovementKind.QUARANTINED)
    assert moves.count() == len(taken)
    assert set(moves.values_list("note", flat=True)) == {"recall R-2026-001"}
    ledger_is_clean(world)


def test_scope_by_serial_range_and_product_expiry_window(world):
    other = ProductFactory(product_line=world.line, organization=world.org)
    inside = world.devices(serials=["0100", "0150", "0199"])
    outside = world.devices(serials=["0099", "0200", "01500"])
    elsewhere = world.devices(product=other, serials=["0120"])
    recall = open_recall(
        world, scope="serial_range", serial_from="0100", serial_to="0199", product=world.product
    )
    assert {d.pk for d in fresh(inside + outside + elsewhere) if d.status == Q} == {
        d.pk for d in inside
    }
    assert recall.scope_text == f"serials 0100–0199 of {world.product.reference}"

    soon = world.devices(2, expires_in_days=40)
    late = world.devices(1, expires_in_days=400)
    other_soon = world.devices(1, product=other, expires_in_days=40)
    open_recall(
        world,
        reference="R-2",
        scope="product_expiry",
        product=world.product,
        expiry_from=in_days(30),
        expiry_to=in_days(60),
    )
    assert [d.status for d in fresh(soon + late + other_soon)] == [
        Q,
        Q,
        DeviceStatus.AVAILABLE,
        DeviceStatus.AVAILABLE,
    ]


def test_scope_never_reaches_another_manufacturer_or_organisation(world):
    from tests.events.conftest import build_world

    other_maker = ProductFactory(organization=world.org)  # its own manufacturer
    theirs = world.devices(1, product=other_maker, lot="LOT-R")
    elsewhere = build_world()
    foreign = elsewhere.devices(1, lot="LOT-R")
    ours = world.devices(1, lot="LOT-R")
    open_recall(world)
    assert [d.status for d in fresh(theirs + ours)] == [DeviceStatus.AVAILABLE, Q]
    assert Device.objects.get(pk=foreign[0].pk).status == DeviceStatus.AVAILABLE


def test_incomplete_scopes_and_duplicates_are_refused(world):
    with pytest.raises(ValidationError, match="at least one lot"):
        open_recall(world, lots=[" "])
    with pytest.raises(ValidationError, match="same length"):
        open_recall(world, scope="serial_range", serial_from="100", serial_to="0199")
    with pytest.raises(ValidationError, match="expiry window"):
        open_recall(
            world,
            scope="product_expiry",
            product=world.product,
            expiry_from=in_days(60),
            expiry_to=in_days(30),
        )
    open_recall(world)
    with pytest.raises(ValidationError, match="already recorded"):
        open_recall(world)
    with pytest.raises(PermissionDenied):
        recall_open(
            actor=world.rep,
            manufacturer=world.maker,
            reference="R-9",
            reason="x",
            recall_class="I",
            action="destroy",
            scope="lots",
            lots=["LOT-R"],
        )
    assert Recall.objects.count() == 1


def test_units_received_later_in_scope_are_quarantined_on_receipt(world):
    recall = open_recall(world)
    received = world.devices(2, lot="LOT-R") + world.devices(1, lot="LOT-OK")
    assert [d.status for d in fresh(received)] == [Q, Q, DeviceStatus.AVAILABLE]
    assert RecallUnit.objects.filter(recall=recall).count() == 2
    kinds = list(
        DeviceMovement.objects.filter(device_id=received[0].pk)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [MovementKind.RECEIVED, MovementKind.QUARANTINED]
    ledger_is_clean(world)


def test_every_refused_action_names_the_recall(world):
    units = world.devices(3, lot="LOT-R")
    open_recall(world)
    named = "is quarantined under recall R-2026-001"
    case = world.event("case")
    with pytest.raises(ValidationError, match=named):
        world.add(case, units[:1])
    order = world.event("stocking_order")
    with pytest.raises(ValidationError, match=named):
        world.add(order, units[1:2])
    with pytest.raises(ValidationError, match=named):
        devices_transfer(actor=world.admin, devices=units[2:], to_custodian=world.rep2)
    with pytest.raises(ValidationError, match=named):
        stock_adjustment_create(
            actor=world.admin,
            reason="lost",
            lines=[AdjustmentLine(device=units[0], effect=StockAdjustmentLine.Effect.REMOVE)],
        )


def test_a_line_marked_before_the_recall_is_refused_at_submit(world):
    units = world.devices(1, lot="LOT-R")
    case = world.event("case")
    world.add(case, units)
    open_recall(world)
    with pytest.raises(ValidationError, match="quarantined under recall R-2026-001"):
        world.submit(case)
    assert Device.objects.get(pk=units[0].pk).status == Q
    assert Event.objects.get(pk=case.pk).status == "draft"


def test_quarantined_facility_stock_comes_back_by_a_return(world):
    from decimal import Decimal

    from billing.models import CreditMemo
    from commissions.models import CommissionCredit, CommissionPlan

    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"))
    shelf = world.facility_stock(2, facility=world.st_marys)
    recall = recall_open(
        actor=world.admin,
        manufacturer=world.maker,
        reference="R-7",
        reason="Sterility",
        recall_class="I",
        action="return",
        scope="lots",
        lots=[shelf[0].lot],
    )
    back = world.event("return")
    world.add(back, shelf)
    world.submit(back)
    for device in fresh(shelf):
        assert device.status == DeviceStatus.REMOVED
        assert device.facility_id is None and device.sold_on_id is None
    assert CreditMemo.objects.filter(event=back).exists()
    assert CommissionCredit.objects.filter(event=back, kind="clawback").count() == 2
    assert set(DeviceMovement.objects.filter(event=back).values_list("kind", flat=True)) == {
        MovementKind.RECALL_RETURNED
    }
    assert RecallUnit.objects.filter(recall=recall).count() == 2
    ledger_is_clean(world)


def test_a_return_refuses_quarantined_rep_stock_and_another_facility(world):
    rep_unit = world.devices(1, lot="LOT-R")
    shelf = world.devices(1, lot="LOT-R")
    world.stocking_order(shelf, facility=world.mercy)
    open_recall(world)
    back = world.event("return", facility=world.st_marys)
    with pytest.raises(ValidationError, match="stock adjustment"):
        world.add(back, rep_unit)
    with pytest.raises(ValidationError, match="quarantined facility stock of Mercy General"):
        world.add(back, shelf)


def test_rep_stock_leaves_only_as_returned_or_destroyed_and_is_never_restored(world):
    from inventory.kit_services import kit_create, kit_template_create

    units = world.devices(2, lot="LOT-R")
    template = kit_template_create(
        actor=world.admin, name="Set", product_line=world.line, items=[(world.product, 2)]
    )
    kit = kit_create(
        actor=world.admin, template=template, tag="KIT-9", custodian=world.rep, devices=units[1:]
    )
    open_recall(world)
    remove = [AdjustmentLine(device=d, effect=StockAdjustmentLine.Effect.REMOVE) for d in units]
    with pytest.raises(ValidationError, match="“Returned to manufacturer” or “Destroyed”"):
        stock_adjustment_create(actor=world.admin, reason="damaged", lines=remove)
    stock_adjustment_create(
        actor=world.admin, reason=StockAdjustment.Reason.DESTROYED, lines=remove
    )
    removed = fresh(units)
    assert [d.status for d in removed] == [DeviceStatus.REMOVED] * 2
    assert removed[1].kit_id is None and kit.devices.count() == 0
    with pytest.raises(
        ValidationError, match="was recalled .recall R-2026-001. and can't be restored"
    ):
        stock_adjustment_create(
            actor=world.admin,
            reason="found",
            lines=[
                AdjustmentLine(
                    device=removed[0],
                    effect=StockAdjustmentLine.Effect.RESTORE,
                    to_custodian=world.rep,
                )
            ],
        )
    ledger_is_clean(world)


def test_a_second_recall_lists_units_the_first_quarantined_without_moving_them(world):
    units = world.devices(2, lot="LOT-R")
    open_recall(world)
    second = open_recall(
        world,
        reference="R-2026-002",
        scope="serial_range",
        serial_from=units[0].serial,
        serial_to=units[1].serial,
    )
    assert RecallUnit.objects.filter(recall=second).count() == 2
    assert DeviceMovement.objects.filter(kind=MovementKind.QUARANTINED).count() == 2


def test_verify_ledger_replays_quarantine_and_release(world, capsys):
    shelf = world.facility_stock(1)
    units = world.devices(1, lot=shelf[0].lot)
    open_recall(world, lots=[shelf[0].lot])
    back = world.event("return")
    world.add(back, shelf)
    world.submit(back)
    stock_adjustment_create(
        actor=world.admin,
        reason="returned",
        lines=[AdjustmentLine(device=units[0], effect=StockAdjustmentLine.Effect.REMOVE)],
    )
    call_command("verify_ledger", organization=world.org.name)
    assert "Ledger verified" in capsys.readouterr().out
    ledger_is_clean(world)
    # A forged release (quarantined straight back to available) is not a move of the table.
    from inventory.lifecycle import movement_problem

    assert movement_problem(
        kind=MovementKind.RETURNED,
        from_status=Q,
        to_status=DeviceStatus.AVAILABLE,
        from_custodian_id=None,
        to_custodian_id=world.rep.pk,
        from_facility_id=world.st_marys.pk,
        to_facility_id=None,
    )


def test_receiving_into_scope_is_an_admin_move(world):
    other_admin = AdminFactory(organization=world.org)
    open_recall(world)
    devices = receive(
        custodian=world.rep, product=world.product, lot="LOT-R", actor=other_admin, count=1
    )
    assert Device.objects.get(pk=devices[0].pk).status == Q
    assert (
        DeviceMovement.objects.get(device_id=devices[0].pk, kind=MovementKind.QUARANTINED).actor_id
        == other_admin.pk
    )
