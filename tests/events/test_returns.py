"""Issue 15: Return events — rules one by one (message, nothing changed), the device transitions,
the ledger, the credit memo and the commission clawback."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from billing.models import CreditMemo
from billing.selectors import invoice_balance
from billing.services import invoice_issue, purchase_order_record
from commissions.models import CommissionCredit, CommissionPlan
from events.models import Event, EventLine
from events.services import event_line_set_damaged
from inventory.models import Device, DeviceMovement, DeviceStatus, MovementKind
from inventory.selectors import ledger_discrepancies
from inventory.services import AdjustmentLine, stock_adjustment_create
from tests.events.test_rules_events import rejected

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def fresh(device) -> Device:
    return Device.objects.get(pk=device.pk)


def test_return_lines_are_facility_stock_of_the_events_facility_only(world):
    [at_marys] = world.facility_stock(1, facility=world.st_marys)
    [at_mercy] = world.facility_stock(1, facility=world.mercy)
    [available] = world.devices(1)
    ret = world.event("return", facility=world.st_marys)
    rejected(
        lambda: world.add(ret, [available]),
        f"SN {available.serial} is rep inventory, not facility stock: only facility stock sold "
        "to St. Mary's can be returned.",
    )
    rejected(
        lambda: world.add(ret, [at_mercy]),
        f"SN {at_mercy.serial} is facility stock of Mercy General and can't be returned from "
        "St. Mary's.",
    )
    [line] = world.add(ret, [at_marys])
    assert line.kind == EventLine.Kind.RETURN
    assert line.price == world.product.unit_price  # the amount credited: the sale price
    assert line.sold_by_id == at_marys.sold_on_id


def test_consumed_and_removed_stock_cannot_be_returned(world):
    used, removed = world.facility_stock(2)
    case = world.event("case", facility_stock_only=True)
    world.add(case, [used])
    world.submit(case)
    stock_adjustment_create(actor=world.admin, reason="lost",
                            lines=[AdjustmentLine(device=removed, effect="remove")])
    ret = world.event("return")
    rejected(lambda: world.add(ret, [used]),
             f"SN {used.serial} was already used in a case and can't be returned.")
    rejected(lambda: world.add(ret, [removed]),
             f"SN {removed.serial} was removed from inventory and can't be returned.")


def test_stock_used_after_it_was_marked_for_return_is_refused_at_submit(world):
    [device] = world.facility_stock(1)
    ret = world.event("return")
    world.add(ret, [device])
    case = world.event("case", facility_stock_only=True)
    world.add(case, [device])
    world.submit(case)
    rejected(lambda: world.submit(ret),
             f"SN {device.serial} was already used in a case and can't be returned.")
    assert Event.objects.get(pk=ret.pk).status == "draft"
    assert not CreditMemo.objects.exists()


def test_submit_returns_devices_to_the_reps_custody_or_for_destruction(world):
    good, damaged = world.facility_stock(2)
    [expiring] = world.devices(1, expires_in_days=5)
    stocking = world.stocking_order([expiring])
    ret = world.event("return", rep=world.rep2)
    world.add(ret, [good, damaged, expiring])
    event_line_set_damaged(actor=world.admin, event=ret, device=damaged, damaged=True)
    later = TODAY + datetime.timedelta(days=10)  # the expiring unit has expired by then
    ret = world.submit(ret, today=later)

    assert ret.status == "closed"
    good = fresh(good)
    assert (good.status, good.custodian_id, good.facility_id, good.sold_on_id) == (
        DeviceStatus.AVAILABLE, world.rep2.pk, None, None)
    for device in (damaged, expiring):
        device = fresh(device)
        assert (device.status, device.custodian_id, device.facility_id, device.sold_on_id) == (
            DeviceStatus.REMOVED, None, None, None)
    moves = {m.device_id: m for m in DeviceMovement.objects.filter(event=ret)}
    assert len(moves) == 3  # one movement per device
    assert moves[good.pk].kind == MovementKind.RETURNED
    assert moves[good.pk].from_facility_id == world.st_marys.pk
    assert moves[damaged.pk].kind == MovementKind.RETURNED_FOR_DESTRUCTION
    assert moves[expiring.pk].note == "returned for destruction"
    # The sale lines are marked reversed; the return's lines are committed.
    assert set(EventLine.objects.filter(kind="sale", returned_by=ret)
               .values_list("device_id", "event_id")) == {
        (good.pk, good_sale(good)), (damaged.pk, good_sale(damaged)),
        (expiring.pk, stocking.pk)}
    assert EventLine.objects.filter(event=ret, committed=True).count() == 3
    # verify_ledger replays returns.
    assert list(ledger_discrepancies()) == []
    call_command("verify_ledger")
    memo = CreditMemo.objects.get(event=ret)
    assert memo.number == "CM-000001"
    assert memo.total == 3 * world.product.unit_price


def good_sale(device) -> int:
    return EventLine.objects.get(device=device, kind="sale").event_id


def test_a_device_is_returned_once(world):
    [device] = world.facility_stock(1)
    first, second = world.event("return"), world.event("return")
    world.add(first, [device])
    world.add(second, [device])
    world.submit(first)
    said = rejected(lambda: world.submit(second), f"SN {device.serial} is rep inventory")
    assert "only facility stock" in said
    assert CreditMemo.objects.count() == 1


def test_a_returned_device_can_be_sold_again_and_returned_again(world):
    [device] = world.facility_stock(1)
    first = world.event("return")
    world.add(first, [device])
    world.submit(first)
    second_sale = world.stocking_order([fresh(device)], facility=world.mercy)
    assert fresh(device).sold_on_id == second_sale.pk
    second = world.event("return", facility=world.mercy)
    world.add(second, [fresh(device)])
    world.submit(second)
    assert fresh(device).status == DeviceStatus.AVAILABLE
    assert list(CreditMemo.objects.order_by("number").values_list("number", flat=True)) == [
        "CM-000001", "CM-000002"]
    assert list(ledger_discrepancies()) == []


def test_the_database_refuses_a_second_return_or_the_return_of_used_stock(world):
    used, kept = world.facility_stock(2)
    case = world.event("case", facility_stock_only=True)
    world.add(case, [used])
    world.submit(case)
    ret = world.event("return")
    world.add(ret, [kept])
    world.submit(ret)
    other = world.event("return")
    # Behind the services' back: a committed return of used stock, a second return of a sale.
    for device in (used, kept):
        with pytest.raises(IntegrityError), transaction.atomic():
            EventLine.objects.create(
                event=other, device=device, kind="return", price=0, committed=True,
                sold_by_id=EventLine.objects.get(device=device, kind="sale").event_id,
            )


def test_marking_damaged_is_for_draft_returns_only(world):
    [device] = world.facility_stock(1)
    ret = world.event("return")
    world.add(ret, [device])
    world.submit(ret)
    rejected(
        lambda: event_line_set_damaged(actor=world.admin, event=ret, device=device, damaged=True),
        "was submitted for billing and can't be changed",
    )
    case = world.event("case")
    [available] = world.devices(1)
    world.add(case, [available])
    rejected(
        lambda: event_line_set_damaged(
            actor=world.admin, event=case, device=available, damaged=True
        ),
        "Only a return's lines can be marked damaged.",
    )


# --- commissions: seller, covering rep, clawback ------------------------------------------------


def test_clawback_takes_back_the_sellers_share_and_leaves_the_covering_rep_alone(world):
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"),
                                  stocking_share=Decimal("0.60"))
    used, returned = world.devices(2)  # price 1,000.00 each
    world.stocking_order([used, returned])  # seller: rep, 60.00 per device
    case = world.event("case", rep=world.rep2, facility_stock_only=True)
    world.add(case, [used])
    world.submit(case)  # covering rep2: 40.00
    ret = world.event("return", rep=world.rep2)
    world.add(ret, [fresh(returned)])
    ret = world.submit(ret)

    def total(rep, **kw):
        return sum(CommissionCredit.objects.filter(rep=rep, **kw).values_list("amount", flat=True),
                   Decimal(0))

    [clawback] = CommissionCredit.objects.filter(kind="clawback")
    assert (clawback.rep_id, clawback.event_id, clawback.device_id, clawback.amount) == (
        world.rep.pk, ret.pk, returned.pk, Decimal("-60.00"))
    assert clawback.created_at == ret.submitted_at  # dated the return
    assert total(world.rep) == Decimal("60.00")  # 60 + 60 − 60
    assert total(world.rep2) == Decimal("40.00")  # untouched
    assert total(world.rep2, kind="clawback") == 0


def test_no_clawback_without_a_sale_credit(world):
    [device] = world.facility_stock(1)  # no commission plan: no credit to take back
    ret = world.event("return")
    world.add(ret, [device])
    world.submit(ret)
    assert not CommissionCredit.objects.exists()


def test_the_database_keeps_clawbacks_negative_and_credits_positive(world):
    [device] = world.facility_stock(1)
    event = Event.objects.get(pk=device.sold_on_id)
    for kind, amount in (("clawback", Decimal("5.00")), ("sale", Decimal("-5.00"))):
        with pytest.raises(IntegrityError), transaction.atomic():
            CommissionCredit.objects.create(
                organization=world.org, rep=world.rep, event=event, device=device, kind=kind,
                amount=amount, base_price=1, rate=0, stocking_share=1,
            )


# --- invoice balance ----------------------------------------------------------------------------


def test_invoice_shows_its_balance_after_credits(world):
    devices = world.devices(3)
    order = world.stocking_order(devices)
    purchase_order_record(actor=world.admin, event=order, number="PO-1")
    invoice = invoice_issue(actor=world.admin, event=order)
    assert invoice_balance(invoice=invoice) == Decimal("3000.00")
    ret = world.event("return")
    world.add(ret, [fresh(devices[0])])
    world.submit(ret)
    assert invoice_balance(invoice=invoice) == Decimal("2000.00")


def test_scanning_a_label_adds_facility_stock_to_a_return_and_expired_units_are_offered(world):
    from events.selectors import event_device_candidates
    from events.services import event_add_by_udi
    from inventory.udi import udi_raw

    [expired] = world.devices(1, expires_in_days=3)
    world.stocking_order([expired])
    [device] = world.facility_stock(1)
    ret = world.event("return")
    later = TODAY + datetime.timedelta(days=5)
    offered = set(event_device_candidates(event=ret, today=later).values_list("pk", flat=True))
    assert offered == {expired.pk, device.pk}
    label = udi_raw(device.product.gtin, device.expiration_date, device.lot, device.serial)
    line = event_add_by_udi(actor=world.rep, event=ret, label=label, today=later)
    assert (line.device_id, line.kind) == (device.pk, "return")
    rejected(lambda: event_add_by_udi(actor=world.rep, event=ret, label=label, today=later),
             f"SN {device.serial} is already on this event.")


def test_a_resold_device_used_later_credits_the_covering_rep_from_the_second_sale(world):
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"),
                                  stocking_share=Decimal("0.60"))
    CommissionPlan.objects.create(organization=world.org, rep=world.rep2, rate=Decimal("0.20"),
                                  stocking_share=Decimal("0.50"))
    [device] = world.facility_stock(1)  # sold by rep: 60.00
    ret = world.event("return", rep=world.rep2)
    world.add(ret, [device])
    world.submit(ret)  # rep: −60.00; the device is in rep2's custody now
    second = world.stocking_order([fresh(device)], rep=world.rep2)  # rep2: 0.5·0.2·1000 = 100
    case = world.event("case", facility_stock_only=True)
    world.add(case, [fresh(device)])
    world.submit(case)  # covering rep: round(0.2·1000) − 100 = 100, from the second sale
    [usage] = CommissionCredit.objects.filter(kind="usage")
    assert (usage.rep_id, usage.amount, usage.rate) == (world.rep.pk, Decimal("100.00"),
                                                        Decimal("0.2000"))
    assert EventLine.objects.get(event=case).sold_by_id == second.pk
    amounts = dict(CommissionCredit.objects.filter(kind="sale").values_list("event_id", "amount"))
    assert amounts[second.pk] == Decimal("100.00")
    from reporting.selectors import ReportFilters, Scope, sales_vs_use_by_month

    [month] = sales_vs_use_by_month(Scope(world.org.pk), ReportFilters.default())
    assert (month["used_units"], month["used_value"]) == (1, Decimal("1000.00"))
