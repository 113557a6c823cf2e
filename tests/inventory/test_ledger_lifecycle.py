"""Stocking order → facility stock → facility-stock case; the ledger and ``verify_ledger``."""

from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from events.models import EventLine
from inventory.models import Device, DeviceMovement, DeviceStatus, MovementKind
from inventory.selectors import ledger_discrepancies
from inventory.services import devices_transfer

pytestmark = pytest.mark.django_db


def kinds(device) -> list[str]:
    return list(DeviceMovement.objects.filter(device=device).order_by("at", "id")
                .values_list("kind", flat=True))


def verify(capsys) -> tuple[int, str]:
    try:
        call_command("verify_ledger")
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_stocking_order_then_facility_stock_case_and_the_ledger(world, capsys):
    devices = world.devices(3)
    order = world.stocking_order(devices, facility=world.st_marys)
    assert order.status == "pending_po"
    assert order.sales_order.number == "SO-000001"
    assert order.sales_order.total == Decimal("3000.00")
    for device in Device.objects.filter(pk__in=[d.pk for d in devices]):
        assert device.status == DeviceStatus.FACILITY_STOCK
        assert device.is_active
        assert device.facility == world.st_marys
        assert device.sold_on == order
        assert device.custodian is None
        assert device.used_in is None

    # The covering rep uses two of them in a facility-stock case.
    case = world.event("case", rep=world.rep2, facility=world.st_marys, facility_stock_only=True)
    world.add(case, devices[:2], actor=world.rep2)
    usage = list(case.lines.order_by("id"))
    assert [(line.kind, line.price, line.sold_by_id) for line in usage] == [
        (EventLine.Kind.USAGE, Decimal("0.00"), order.pk)
    ] * 2
    world.submit(case, actor=world.rep2)
    case.refresh_from_db()
    assert case.status == "closed"  # not billed again: no PO, no invoice
    assert case.sales_order.total == Decimal("0.00")
    assert case.sales_order.number == "SO-000002"
    used = Device.objects.filter(pk__in=[d.pk for d in devices[:2]])
    assert {(d.status, d.used_in_id, d.sold_on_id, d.facility_id) for d in used} == {
        (DeviceStatus.CONSUMED, case.pk, order.pk, world.st_marys.pk)
    }
    left = Device.objects.get(pk=devices[2].pk)
    assert (left.status, left.used_in_id) == (DeviceStatus.FACILITY_STOCK, None)

    # Exactly one ledger row per change.
    assert kinds(devices[0]) == [MovementKind.RECEIVED, MovementKind.SOLD_TO_FACILITY,
                                 MovementKind.FACILITY_STOCK_CONSUMED]
    assert kinds(devices[2]) == [MovementKind.RECEIVED, MovementKind.SOLD_TO_FACILITY]
    assert Counter(DeviceMovement.objects.values_list("kind", flat=True)) == {
        MovementKind.RECEIVED: 3, MovementKind.SOLD_TO_FACILITY: 3,
        MovementKind.FACILITY_STOCK_CONSUMED: 2,
    }
    sold = DeviceMovement.objects.get(device=devices[0], kind=MovementKind.SOLD_TO_FACILITY)
    assert (sold.from_status, sold.to_status, sold.from_custodian, sold.to_custodian,
            sold.facility, sold.event) == (
        DeviceStatus.AVAILABLE, DeviceStatus.FACILITY_STOCK, world.rep, None, world.st_marys,
        order,
    )
    consumed = DeviceMovement.objects.get(
        device=devices[0], kind=MovementKind.FACILITY_STOCK_CONSUMED
    )
    assert (consumed.from_status, consumed.to_status, consumed.event, consumed.note) == (
        DeviceStatus.FACILITY_STOCK, DeviceStatus.CONSUMED, case, ""
    )  # the patient ID stays on the event, never in the ledger
    assert list(ledger_discrepancies()) == []
    code, output = verify(capsys)
    assert code == 0
    assert "Ledger verified: the chain is intact and every device matches its movements." in output


def test_a_case_with_rep_inventory_sells_and_consumes_in_one_movement(world):
    [device] = world.devices(1)
    devices_transfer(actor=world.admin, devices=[device], to_custodian=world.rep2)
    devices_transfer(actor=world.admin, devices=[device], to_custodian=world.rep)
    case = world.event("case", facility=world.mercy)
    world.add(case, [device], actor=world.rep)
    world.submit(case, actor=world.rep)
    device.refresh_from_db()
    case.refresh_from_db()
    assert (device.status, device.sold_on_id, device.used_in_id, device.facility_id) == (
        DeviceStatus.CONSUMED, case.pk, case.pk, world.mercy.pk
    )
    assert kinds(device) == [MovementKind.RECEIVED, MovementKind.TRANSFERRED,
                             MovementKind.TRANSFERRED, MovementKind.SOLD_AND_CONSUMED]
    line = case.lines.get()
    assert (line.kind, line.price, line.committed) == ("sale", Decimal("1000.00"), True)
    assert case.status == "pending_po"
    assert list(ledger_discrepancies()) == []


def test_a_refused_submission_writes_no_ledger_row(world):
    [good, gone] = world.devices(2)
    order = world.event("stocking_order")
    world.add(order, [good, gone])
    devices_transfer(actor=world.admin, devices=[gone], to_custodian=world.rep2)
    before = DeviceMovement.objects.count()
    with pytest.raises(Exception, match="custody"):
        world.submit(order)
    assert DeviceMovement.objects.count() == before
    assert Device.objects.get(pk=good.pk).status == DeviceStatus.AVAILABLE


def test_verify_ledger_names_a_device_changed_behind_the_services_back(world, capsys):
    devices = world.facility_stock(2)
    [spare] = world.devices(1)
    assert verify(capsys)[0] == 0
    # Bypass the services: no movement is written.
    Device.objects.filter(pk=devices[1].pk).update(facility=world.mercy)
    Device.objects.filter(pk=spare.pk).update(custodian=world.rep2)
    code, output = verify(capsys)
    assert code == 1
    assert f"device #{devices[1].pk} SN {devices[1].serial}: the ledger says" in output
    assert f"facility {world.mercy.pk})" in output
    assert f"device #{spare.pk} SN {spare.serial}" in output
    assert f"SN {devices[0].serial}" not in output
    assert "2 discrepancies found." in output
    found = {d.device_id for d in ledger_discrepancies(organization_id=world.org.pk)}
    assert found == {devices[1].pk, spare.pk}


def test_verify_ledger_reports_a_device_without_movements(world, capsys):
    [device] = world.devices(1)
    Device.objects.create(
        organization=world.org, product=world.product, serial="GHOST-1", lot="L",
        expiration_date=device.expiration_date, custodian=world.rep,
    )
    code, output = verify(capsys)
    assert code == 1
    assert "SN GHOST-1: it has no movements at all" in output


# --- rule 7: the ledger is append-only on PostgreSQL ---------------------------------------------


def test_the_ledger_trigger_refuses_update_and_delete(world):
    [device] = world.devices(1)
    movement = DeviceMovement.objects.get(device=device)
    attempts = [
        lambda: DeviceMovement.objects.filter(pk=movement.pk).update(note="edited"),
        lambda: DeviceMovement.objects.filter(pk=movement.pk).delete(),
        lambda: movement.save(),
        lambda: connection.cursor().execute(
            "UPDATE inventory_devicemovement SET note = 'x' WHERE id = %s", [movement.pk]),
        lambda: connection.cursor().execute(
            "DELETE FROM inventory_devicemovement WHERE id = %s", [movement.pk]),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError, match=r"append-only: (UPDATE|DELETE) refused"), \
                transaction.atomic():
            attempt()
    movement.refresh_from_db()
    assert movement.note == ""
    assert DeviceMovement.objects.filter(device=device).count() == 1


def test_verify_ledger_reports_movements_that_do_not_chain(world, capsys):
    [device] = world.devices(1)
    # A forged row (inserts are allowed; it claims the device left a facility it never was at).
    DeviceMovement.objects.create(
        organization=world.org, device=device, actor=world.admin, kind=MovementKind.TRANSFERRED,
        from_status=DeviceStatus.FACILITY_STOCK, to_status=DeviceStatus.AVAILABLE,
        from_facility=world.st_marys, to_custodian=world.rep,
    )
    code, output = verify(capsys)
    assert code == 1
    assert f"device #{device.pk} SN {device.serial}: a available movement starts from " \
           f"(facility_stock, custodian None, facility {world.st_marys.pk})" in output
