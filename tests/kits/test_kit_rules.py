"""Kit rules through the services: templates, building, a kit member never moves alone, a kit
moves as one, loans, a case using loaned units, check-in, replenish. The ledger replays clean
after each flow."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from events.loan_services import kit_check_in, loan_extend
from events.models import Event, EventLine
from inventory.kit_selectors import kit_contents
from inventory.kit_services import (
    kit_add_devices,
    kit_remove_device,
    kit_replenish,
    kit_template_create,
    kit_template_import_csv,
    kit_transfer,
)
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    Kit,
    KitMovement,
    MovementKind,
    StockAdjustment,
    StockAdjustmentLine,
    Transfer,
)
from inventory.selectors import ledger_discrepancies
from inventory.services import (
    AdjustmentLine,
    devices_transfer,
    stock_adjustment_create,
    transfer_accept,
    transfer_decline,
)
from tests.events.conftest import db_state

pytestmark = pytest.mark.django_db


def ledger_clean():
    assert list(ledger_discrepancies()) == []


# --- templates -----------------------------------------------------------------------------------


def test_template_items_and_csv_import(kits):
    w = kits.world
    csv_text = f"reference,quantity\n{kits.screw.reference},4\n{kits.plate.gtin},1\n"
    template = kit_template_import_csv(actor=w.admin, name="Screw set B", product_line=w.line,
                                       data=csv_text.encode())
    assert sorted((i.product.reference, i.quantity) for i in template.items.all()) == [
        ("PLT-2", 1), ("SCR-55", 4)]


def test_template_csv_reports_every_bad_row_and_creates_nothing(kits):
    w = kits.world
    with pytest.raises(ValidationError) as error:
        kit_template_import_csv(actor=w.admin, name="Bad", product_line=w.line,
                                data="reference,quantity\nNOPE,1\nSCR-55,x\n")
    assert error.value.messages == ["Line 3: quantity 'x' is not a whole number.",
                                    "Line 2: no product 'NOPE' in your catalogue."]
    assert not w.org.pk or not kits.template.__class__.objects.filter(name="Bad").exists()


def test_template_is_admin_only_and_checks_quantities(kits):
    w = kits.world
    with pytest.raises(PermissionDenied):
        kit_template_create(actor=w.rep, name="X", product_line=w.line, items=[(kits.screw, 1)])
    with pytest.raises(ValidationError, match="whole number from 1"):
        kit_template_create(actor=w.admin, name="X", product_line=w.line, items=[(kits.screw, 0)])
    with pytest.raises(ValidationError, match="already exists"):
        kit_template_create(actor=w.admin, name="pedicle screw set 5.5", product_line=w.line,
                            items=[(kits.screw, 1)])


# --- building ------------------------------------------------------------------------------------


def test_build_kit_and_contents_against_template(kits):
    kit = kits.build(screws=2, plates=2)
    contents = kit_contents(kit=kit)
    assert contents.state == "short"
    assert contents.shortfall == {kits.screw.pk: 1}
    assert {m.kind for m in DeviceMovement.objects.filter(kit=kit)} == {MovementKind.KIT_PACKED}
    assert KitMovement.objects.filter(kit=kit).count() == 2  # built, packed
    ledger_clean()


def test_build_refuses_what_the_template_does_not_ask_for(kits):
    w = kits.world
    kit = kits.build()
    extra = w.devices(1, product=kits.screw)
    other = w.devices(1)  # a product outside the template
    someone_elses = w.devices(1, custodian=w.rep2, product=kits.plate)
    before = db_state()
    with pytest.raises(ValidationError) as error:
        kit_add_devices(actor=w.rep, kit=kit, devices=extra + other + someone_elses)
    text = " ".join(error.value.messages)
    assert "already holds the SCR-55 units" in text
    assert "is not in the Pedicle Screw Set 5.5 template" in text
    assert "custody, not" in text
    assert db_state() == before


def test_expiring_and_expired_contents(kits):
    kit = kits.build(expires_in_days=10)
    today = timezone.localdate()
    assert kit_contents(kit=kit, today=today).state == "expiring"
    later = kit_contents(kit=kit, today=today + datetime.timedelta(days=11))
    assert later.state == "expired units" and len(later.expired_units) == 5
    assert later.shortfall == {kits.screw.pk: 3, kits.plate.pk: 2}


# --- a kit member never moves alone ---------------------------------------------------------------


def test_kit_member_cannot_be_transferred_adjusted_or_sold_alone(kits):
    w = kits.world
    kit = kits.build()
    unit = kits.members(kit)[0]
    case = w.event("case", actor=w.rep)
    before = db_state()
    with pytest.raises(ValidationError, match="is in kit K-1"):
        devices_transfer(actor=w.admin, devices=[unit], to_custodian=w.rep2)
    with pytest.raises(ValidationError, match="is in kit K-1"):
        stock_adjustment_create(actor=w.admin, reason="lost",
                                lines=[AdjustmentLine(device=unit, effect="remove")])
    with pytest.raises(ValidationError, match="is in kit K-1: take it out of the kit first"):
        w.add(case, [unit], actor=w.rep)
    assert db_state() == before
    # Out of the kit, it is an ordinary unit again.
    kit_remove_device(actor=w.rep, kit=kit, device=unit)
    w.add(case, [unit], actor=w.rep)
    w.submit(case, actor=w.rep)
    assert Device.objects.get(pk=unit.pk).status == DeviceStatus.CONSUMED
    ledger_clean()


# --- a kit moves as one --------------------------------------------------------------------------


def test_kit_transfer_accept_moves_kit_and_units(kits):
    w = kits.world
    kit = kits.build()
    transfer = kit_transfer(actor=w.rep, kit=kit, to_custodian=w.rep2)
    kit.refresh_from_db()
    assert kit.status == Kit.Status.IN_TRANSIT
    assert all(d.pending_transfer_id == transfer.pk for d in kits.members(kit))
    transfer_accept(actor=w.rep2, transfer=transfer)
    kit.refresh_from_db()
    assert kit.custodian == w.rep2 and kit.status == Kit.Status.AVAILABLE
    assert {d.custodian_id for d in kits.members(kit)} == {w.rep2.pk}
    assert DeviceMovement.objects.filter(transfer=transfer,
                                         kind=MovementKind.KIT_TRANSFERRED).count() == 5
    assert KitMovement.objects.filter(kit=kit, kind="transferred", units=5).count() == 1
    ledger_clean()


def test_kit_transfer_decline_leaves_it_with_the_sender(kits):
    w = kits.world
    kit = kits.build()
    transfer = kit_transfer(actor=w.rep, kit=kit, to_custodian=w.rep2)
    transfer_decline(actor=w.rep2, transfer=transfer, reason="Not my territory")
    kit.refresh_from_db()
    assert kit.custodian == w.rep and kit.status == Kit.Status.AVAILABLE
    assert all(d.pending_transfer_id is None and d.custodian_id == w.rep.pk
               for d in kits.members(kit))
    ledger_clean()


# --- loans and cases -----------------------------------------------------------------------------


def test_loan_sends_kit_without_selling_it(kits):
    w = kits.world
    kit = kits.build()
    loan = kits.loan(kit)
    kit.refresh_from_db()
    assert loan.event_type == "loan" and loan.status == "on_loan" and kit.loan == loan
    members = kits.members(kit)
    assert {(d.status, d.facility_id, d.custodian_id, d.sold_on_id) for d in members} == {
        (DeviceStatus.LOANED, w.st_marys.pk, w.rep.pk, None)}
    assert DeviceMovement.objects.filter(event=loan, kind=MovementKind.KIT_LOANED).count() == 5
    with pytest.raises(ValidationError, match="on loan and can't be loaned"):
        kits.loan(kit)
    with pytest.raises(ValidationError, match="transfer it"):
        kit_transfer(actor=w.rep, kit=kit, to_custodian=w.rep2)
    ledger_clean()


def test_case_at_the_loan_facility_uses_and_bills_loaned_units(kits):
    w = kits.world
    kit = kits.build()
    loan = kits.loan(kit)
    used = kits.members(kit)[:3]
    elsewhere = w.event("case", actor=w.rep, facility=w.mercy)
    with pytest.raises(ValidationError, match="on loan to St. Mary's .* can't be used at Mercy"):
        w.add(elsewhere, used[:1], actor=w.rep)
    order = w.event("stocking_order", actor=w.rep)
    with pytest.raises(ValidationError, match="only a case there can use it"):
        w.add(order, used[:1], actor=w.rep)
    case = w.event("case", actor=w.rep)
    w.add(case, used, actor=w.rep)
    case = w.submit(case, actor=w.rep)
    assert case.sales_order.total == sum(d.product.unit_price for d in used)
    assert {(d.status, d.kit_id, d.sold_on_id) for d in Device.objects.filter(
        pk__in=[d.pk for d in used])} == {(DeviceStatus.CONSUMED, None, case.pk)}
    assert kit_contents(kit=kit).shortfall == {kits.screw.pk: 3}
    assert Event.objects.get(pk=loan.pk).status == "on_loan"  # the loan is not sold
    ledger_clean()


def test_loan_extension_needs_a_reason_and_a_later_date(kits):
    w = kits.world
    loan = kits.loan(kits.build())
    with pytest.raises(ValidationError):
        loan_extend(actor=w.rep, loan=loan, due_back=loan.due_back, reason="")
    loan = loan_extend(actor=w.rep, loan=loan, due_back=loan.due_back + datetime.timedelta(days=2),
                       reason="Surgery moved")
    assert loan.extensions.get().reason == "Surgery moved"


# --- check-in ------------------------------------------------------------------------------------


def test_check_in_refuses_while_a_unit_is_unaccounted_for(kits):
    w = kits.world
    kit = kits.build()
    loan = kits.loan(kit)
    members = kits.members(kit)
    before = db_state()
    with pytest.raises(ValidationError) as error:
        kit_check_in(actor=w.rep, kit=kit, present=members[:-1])
    assert error.value.messages == [
        f"{members[-1].label} is unaccounted for: scan it back, charge it to a case or report "
        "it lost."]
    assert db_state() == before
    # Charged to a draft case: accounted for once the case is submitted.
    case = w.event("case", actor=w.rep)
    w.add(case, members[-1:], actor=w.rep)
    with pytest.raises(ValidationError, match="charged to case event, not yet submitted"):
        kit_check_in(actor=w.rep, kit=kit, present=members[:-1])
    w.submit(case, actor=w.rep)
    result = kit_check_in(actor=w.rep, kit=kit, present=members[:-1])
    assert result.loan_closed and Event.objects.get(pk=loan.pk).status == "closed"
    kit.refresh_from_db()
    assert kit.status == Kit.Status.AVAILABLE and kit.facility is None
    assert {d.status for d in kits.members(kit)} == {DeviceStatus.AVAILABLE}
    ledger_clean()


def test_check_in_with_a_lost_unit_records_a_stock_adjustment(kits):
    w = kits.world
    kit = kits.build()
    kits.loan(kit)
    members = kits.members(kit)
    result = kit_check_in(actor=w.rep, kit=kit, present=members[1:], lost=members[:1])
    lost = Device.objects.get(pk=members[0].pk)
    assert lost.status == DeviceStatus.REMOVED and lost.kit is None
    assert result.adjustment.reason == StockAdjustment.Reason.LOST
    assert StockAdjustmentLine.objects.get(adjustment=result.adjustment).device_id == lost.pk
    with pytest.raises(ValidationError, match="was already checked in"):
        kit_check_in(actor=w.rep, kit=kit, present=members[1:])
    ledger_clean()


def test_check_in_of_a_kit_never_loaned_says_so(kits):
    w = kits.world
    kit = kits.build()
    with pytest.raises(ValidationError, match="is not on loan: there is nothing to check in"):
        kit_check_in(actor=w.rep, kit=kit, present=kits.members(kit))


def test_check_in_says_which_units_were_used_meanwhile(kits):
    w = kits.world
    kit = kits.build()
    kits.loan(kit)
    members = kits.members(kit)
    case = w.event("case", actor=w.rep)
    w.add(case, members[:1], actor=w.rep)
    w.submit(case, actor=w.rep)
    with pytest.raises(ValidationError, match="was used on case event meanwhile"):
        kit_check_in(actor=w.rep, kit=kit, present=members)


# --- replenish -----------------------------------------------------------------------------------


def test_replenish_drafts_a_transfer_longest_dating_first_with_shortfall(kits):
    w = kits.world
    kit = kits.build()
    kits.loan(kit)
    members = kits.members(kit)
    case = w.event("case", actor=w.rep)
    w.add(case, members[:3], actor=w.rep)  # the three screws
    w.submit(case, actor=w.rep)
    kit_check_in(actor=w.rep, kit=kit, present=members[3:])
    short_dated = w.devices(1, custodian=w.admin, product=kits.screw, expires_in_days=60)
    long_dated = w.devices(2, custodian=w.admin, product=kits.screw, expires_in_days=700)
    refill = kit_replenish(actor=w.admin, kit=kit, source=w.admin)
    assert refill.shortfall == {}
    assert set(refill.transfer.devices.values_list("pk", flat=True)) == {
        long_dated[0].pk, long_dated[1].pk, short_dated[0].pk}
    assert refill.transfer.status == Transfer.Status.PENDING
    transfer_accept(actor=w.rep, transfer=refill.transfer)
    contents = kit_contents(kit=kit)
    assert contents.is_complete and contents.units == 5
    assert {d.custodian_id for d in kits.members(kit)} == {w.rep.pk}
    ledger_clean()


def test_replenish_from_own_stock_lists_the_shortfall(kits):
    w = kits.world
    kit = kits.build(screws=1)
    w.devices(1, product=kits.screw)
    refill = kit_replenish(actor=w.rep, kit=kit, source=w.rep)
    assert refill.shortfall == {kits.screw.pk: 1}
    transfer_accept(actor=w.rep, transfer=refill.transfer)
    assert kit_contents(kit=kit).shortfall == {kits.screw.pk: 1}
    with pytest.raises(PermissionDenied):
        kit_replenish(actor=w.rep, kit=kit, source=w.admin)
    ledger_clean()


def test_lines_of_loaned_units_are_sales(kits):
    w = kits.world
    kit = kits.build()
    kits.loan(kit)
    case = w.event("case", actor=w.rep)
    w.add(case, kits.members(kit)[:1], actor=w.rep)
    assert EventLine.objects.get(event=case).kind == EventLine.Kind.SALE
