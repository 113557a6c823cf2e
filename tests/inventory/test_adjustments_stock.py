"""Stock adjustments: remove, restore, move — on facility stock and on rep inventory."""

import pytest
from django.core.exceptions import ValidationError

from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    MovementKind,
    StockAdjustment,
    StockAdjustmentLine,
)
from inventory.selectors import ledger_discrepancies
from inventory.services import AdjustmentLine, stock_adjustment_create
from tests.events.conftest import db_state

pytestmark = pytest.mark.django_db


def adjust(world, reason, *lines):
    return stock_adjustment_create(actor=world.admin, reason=reason, lines=list(lines),
                                   note="cycle count 12")


def fresh(device) -> Device:
    return Device.objects.get(pk=device.pk)


def test_remove_and_restore_facility_stock_comes_back_as_facility_stock(world):
    [device] = world.facility_stock(1, facility=world.st_marys)
    sold_on = device.sold_on_id
    removal = adjust(world, "lost", AdjustmentLine(device=device, effect="remove"))
    device = fresh(device)
    assert (device.status, device.facility_id, device.custodian_id, device.sold_on_id) == (
        DeviceStatus.REMOVED, None, None, sold_on
    )
    assert not device.is_active
    line = removal.lines.get()
    assert (line.from_status, line.to_status) == (DeviceStatus.FACILITY_STOCK,
                                                  DeviceStatus.REMOVED)

    # A rep custodian is ignored for a sold device: it is never sellable again.
    adjust(world, "found",
           AdjustmentLine(device=device, effect="restore", to_custodian=world.rep))
    device = fresh(device)
    assert (device.status, device.facility_id, device.custodian_id, device.sold_on_id) == (
        DeviceStatus.FACILITY_STOCK, world.st_marys.pk, None, sold_on
    )
    movements = list(DeviceMovement.objects.filter(device=device).order_by("at", "id"))
    assert [m.kind for m in movements] == [
        MovementKind.RECEIVED, MovementKind.SOLD_TO_FACILITY, MovementKind.ADJUSTMENT_REMOVED,
        MovementKind.ADJUSTMENT_RESTORED,
    ]
    assert movements[2].adjustment == removal
    assert movements[2].note == "cycle count 12"
    assert (movements[3].from_status, movements[3].to_status, movements[3].facility) == (
        DeviceStatus.REMOVED, DeviceStatus.FACILITY_STOCK, world.st_marys
    )
    assert list(ledger_discrepancies()) == []


def test_restore_sold_device_to_another_facility(world):
    [device] = world.facility_stock(1, facility=world.st_marys)
    adjust(world, "damaged", AdjustmentLine(device=device, effect="remove"))
    adjust(world, "found",
           AdjustmentLine(device=device, effect="restore", to_facility=world.mercy))
    device = fresh(device)
    assert (device.status, device.facility_id) == (DeviceStatus.FACILITY_STOCK, world.mercy.pk)
    assert list(ledger_discrepancies()) == []


def test_move_facility_stock_to_another_facility(world):
    devices = world.facility_stock(2, facility=world.st_marys)
    adjustment = adjust(world, "facility_correction", *[
        AdjustmentLine(device=d, effect="move_to_facility", to_facility=world.mercy)
        for d in devices
    ])
    for device in devices:
        device = fresh(device)
        assert (device.status, device.facility_id, device.sold_on_id) == (
            DeviceStatus.FACILITY_STOCK, world.mercy.pk, devices[0].sold_on_id
        )
        move = DeviceMovement.objects.get(device=device, kind=MovementKind.ADJUSTMENT_MOVED)
        assert (move.from_facility, move.facility, move.adjustment) == (
            world.st_marys, world.mercy, adjustment
        )
    assert adjustment.lines.count() == 2
    # It can now be used in a facility-stock case at Mercy General, not at St. Mary's.
    mercy_case = world.event("case", facility=world.mercy, facility_stock_only=True)
    world.add(mercy_case, devices)
    world.submit(mercy_case)
    assert {fresh(d).status for d in devices} == {DeviceStatus.CONSUMED}
    assert list(ledger_discrepancies()) == []


def test_rep_inventory_remove_and_restore_to_the_last_custodian(world):
    [device] = world.devices(1, custodian=world.rep2)
    adjust(world, "lost", AdjustmentLine(device=device, effect="remove"))
    assert (fresh(device).status, fresh(device).custodian_id) == (DeviceStatus.REMOVED, None)
    adjust(world, "found", AdjustmentLine(device=device, effect="restore"))
    device = fresh(device)
    assert (device.status, device.custodian_id, device.facility_id) == (
        DeviceStatus.AVAILABLE, world.rep2.pk, None
    )
    # Restored rep inventory is sellable again by its holder.
    case = world.event("case", rep=world.rep2)
    world.add(case, [device])


def test_rep_inventory_restored_to_another_custodian(world):
    [device] = world.devices(1, custodian=world.rep2)
    adjust(world, "lost", AdjustmentLine(device=device, effect="remove"))
    adjust(world, "found",
           AdjustmentLine(device=device, effect="restore", to_custodian=world.rep))
    assert fresh(device).custodian_id == world.rep.pk
    assert list(ledger_discrepancies()) == []


def test_one_adjustment_mixes_effects_with_one_ledger_row_per_device(world):
    [rep_device] = world.devices(1)
    [stock_a, stock_b] = world.facility_stock(2)
    adjust(world, "lost", AdjustmentLine(device=stock_b, effect="remove"))
    before = DeviceMovement.objects.count()
    adjustment = adjust(
        world, "cycle_count",
        AdjustmentLine(device=rep_device, effect="remove"),
        AdjustmentLine(device=stock_a, effect="move_to_facility", to_facility=world.mercy),
        AdjustmentLine(device=stock_b, effect="restore"),
    )
    assert DeviceMovement.objects.count() == before + 3
    assert set(adjustment.movements.values_list("device_id", "kind")) == {
        (rep_device.pk, MovementKind.ADJUSTMENT_REMOVED),
        (stock_a.pk, MovementKind.ADJUSTMENT_MOVED),
        (stock_b.pk, MovementKind.ADJUSTMENT_RESTORED),
    }
    assert list(ledger_discrepancies()) == []


@pytest.mark.parametrize(
    ("setup", "effect", "message"),
    [
        ("consumed", "remove", "is consumed: only active devices can be removed."),
        ("available", "restore", "is available: only removed devices can be restored."),
        ("available", "move_to_facility",
         "is not facility stock: only facility stock can be moved to another facility."),
        ("facility_stock", "move_same", "is already facility stock of St. Mary's."),
        ("facility_stock", "move_nowhere", "choose the facility to move it to."),
        ("in_transit", "remove", "is in transit: answer the transfer first."),
    ],
)
def test_adjustments_that_break_the_state_machine_are_refused(world, setup, effect, message):
    from inventory.services import devices_transfer

    if setup == "consumed":
        [device] = world.devices(1)
        case = world.event("case")
        world.add(case, [device])
        world.submit(case)
    elif setup == "available":
        [device] = world.devices(1)
    elif setup == "in_transit":
        [device] = world.devices(1)
        devices_transfer(actor=world.rep, devices=[device], to_custodian=world.rep2)
    else:
        [device] = world.facility_stock(1)
    line = {
        "move_same": AdjustmentLine(device=device, effect="move_to_facility",
                                    to_facility=world.st_marys),
        "move_nowhere": AdjustmentLine(device=device, effect="move_to_facility"),
    }.get(effect) or AdjustmentLine(device=device, effect=effect, to_facility=world.mercy)
    before = db_state()
    adjustments = StockAdjustment.objects.count()
    with pytest.raises(ValidationError) as caught:
        adjust(world, "cycle_count", line)
    assert f"SN {device.serial}" in caught.value.messages[0]
    assert message in caught.value.messages[0]
    assert db_state() == before
    assert StockAdjustment.objects.count() == adjustments
    assert not StockAdjustmentLine.objects.filter(device=device).exists()


def test_one_bad_line_refuses_the_whole_adjustment(world):
    [good] = world.devices(1)
    [stock] = world.facility_stock(1)
    before = db_state()
    with pytest.raises(ValidationError, match="only removed devices can be restored"):
        adjust(world, "cycle_count",
               AdjustmentLine(device=good, effect="remove"),
               AdjustmentLine(device=stock, effect="restore"))
    assert db_state() == before


def test_adjustment_needs_a_reason_and_lines(world):
    [device] = world.devices(1)
    with pytest.raises(ValidationError, match="Choose a reason for the adjustment."):
        adjust(world, "bored", AdjustmentLine(device=device, effect="remove"))
    with pytest.raises(ValidationError, match="Add at least one device to the adjustment."):
        adjust(world, "lost")
    with pytest.raises(ValidationError, match="A device appears twice in this adjustment."):
        adjust(world, "lost", AdjustmentLine(device=device, effect="remove"),
               AdjustmentLine(device=device, effect="remove"))


def test_adjustments_never_cross_organisations(world):
    from tests.events.conftest import build_world

    other = build_world()
    [stock] = world.facility_stock(1)
    [mine] = world.devices(1)
    before = db_state()
    with pytest.raises(ValidationError, match="Mercy General is not part of your organisation."):
        adjust(world, "facility_correction",
               AdjustmentLine(device=stock, effect="move_to_facility", to_facility=other.mercy))
    assert db_state() == before
    adjust(world, "lost", AdjustmentLine(device=mine, effect="remove"))
    before = db_state()
    with pytest.raises(ValidationError, match="Ann Rep is not part of your organisation."):
        adjust(world, "found",
               AdjustmentLine(device=mine, effect="restore", to_custodian=other.rep))
    assert db_state() == before
    [theirs] = other.devices(1)
    before = db_state()
    with pytest.raises(ValidationError, match="is not part of your organisation's inventory"):
        adjust(world, "lost", AdjustmentLine(device=theirs, effect="remove"))
    assert db_state() == before


@pytest.mark.parametrize(("reason", "effect", "must"), [
    ("found", "remove", "“Restore”"),
    ("lost", "restore", "“Remove”"),
    ("damaged", "move_to_facility", "“Remove”"),
    ("expired", "restore", "“Remove”"),
    ("returned", "restore", "“Remove”"),
])
def test_a_reason_that_contradicts_the_effect_is_refused(world, reason, effect, must):
    """Issue 23: "Found" + "Remove" removed a facility-stock unit. The service refuses a reason
    and an effect that contradict each other, before any row is locked or written."""
    [stock] = world.facility_stock(1)
    if effect == "restore":
        adjust(world, "cycle_count", AdjustmentLine(device=stock, effect="remove"))
    before = db_state()
    label = StockAdjustment.Reason(reason).label
    with pytest.raises(ValidationError) as refused:
        adjust(world, reason, AdjustmentLine(device=stock, effect=effect,
                                             to_facility=world.mercy))
    [message] = refused.value.message_dict["effect"]
    assert message.startswith(f"The reason “{label}” contradicts the effect")
    assert f"with this reason the effect must be {must}" in message
    assert db_state() == before


def test_a_cycle_count_or_facility_correction_may_go_either_way(world):
    [a, b, c] = world.facility_stock(3, facility=world.st_marys)
    adjust(world, "cycle_count", AdjustmentLine(device=a, effect="remove"))
    adjust(world, "cycle_count", AdjustmentLine(device=a, effect="restore"))
    adjust(world, "facility_correction", AdjustmentLine(device=b, effect="remove"),
           AdjustmentLine(device=c, effect="move_to_facility", to_facility=world.mercy))
    assert [fresh(d).status for d in (a, b, c)] == [
        DeviceStatus.FACILITY_STOCK, DeviceStatus.REMOVED, DeviceStatus.FACILITY_STOCK]
    assert list(ledger_discrepancies()) == []


def test_every_adjustment_reason_says_which_effects_fit_it():
    """A reason added later (the recall's "Destroyed") must say its effects too: otherwise every
    effect contradicts it and no adjustment with it can be made."""
    from inventory.models import StockAdjustment
    from inventory.services import REASON_EFFECTS

    assert set(REASON_EFFECTS) == set(StockAdjustment.Reason.values)
    assert all(REASON_EFFECTS[reason] for reason in StockAdjustment.Reason.values)
