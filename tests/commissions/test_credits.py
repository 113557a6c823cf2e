"""Commissions exactly as DESIGN.md: r·p direct, s·r·p at the stocking order, (1−s)·r·p on use."""

from decimal import Decimal

import pytest

from commissions.models import CommissionCredit, CommissionPlan
from commissions.services import commission_plan_for
from tests.factories import ProductFactory, ProductLineFactory

pytestmark = pytest.mark.django_db

D = Decimal


def plan(world, rate, share="1", rep=None, line=None):
    return CommissionPlan.objects.create(
        organization=world.org, rep=rep, product_line=line, rate=D(rate), stocking_share=D(share)
    )


def credits():
    return list(
        CommissionCredit.objects.order_by("id").values_list("rep__last_name", "kind", "amount")
    )


def test_direct_case_credits_r_times_p_to_the_representative(world):
    plan(world, "0.10", share="0.60")
    devices = world.devices(2)
    case = world.event("case")
    world.add(case, devices)
    world.submit(case)
    assert credits() == [("Rep", "sale", D("100.00")), ("Rep", "sale", D("100.00"))]
    credit = CommissionCredit.objects.first()
    assert (credit.event, credit.base_price, credit.rate, credit.stocking_share) == (
        case, D("1000.00"), D("0.1000"), D("1")
    )


def test_hand_worked_example_60_to_the_seller_and_40_to_the_covering_rep(world):
    """s = 0.60, r = 0.10, price 1,000.00 → 60.00 to the seller, 40.00 to the covering rep."""
    plan(world, "0.10", share="0.60")
    [device] = world.devices(1)
    order = world.stocking_order([device])
    assert credits() == [("Rep", "sale", D("60.00"))]
    assert CommissionCredit.objects.get().event == order

    case = world.event("case", rep=world.rep2, facility_stock_only=True)
    world.add(case, [device])
    world.submit(case)
    assert credits() == [("Rep", "sale", D("60.00")), ("Cover", "usage", D("40.00"))]
    usage = CommissionCredit.objects.get(kind="usage")
    assert (usage.rep, usage.event, usage.device_id) == (world.rep2, case, device.pk)
    total = sum(CommissionCredit.objects.filter(device=device).values_list("amount", flat=True))
    assert total == D("100.00")


def test_the_covering_rep_share_uses_the_rates_of_the_sale_not_todays_plan(world):
    default = plan(world, "0.10", share="0.60")
    [device] = world.devices(1)
    world.stocking_order([device])
    default.rate, default.stocking_share = D("0.20"), D("0.50")
    default.save()
    case = world.event("case", rep=world.rep2, facility_stock_only=True)
    world.add(case, [device])
    world.submit(case)
    assert CommissionCredit.objects.get(kind="usage").amount == D("40.00")


@pytest.mark.parametrize(
    ("price", "rate", "share", "seller", "cover"),
    [
        ("333.33", "0.10", "0.60", "20.00", "13.33"),  # r·p = 33.333 → 33.33 in all
        ("1.25", "0.10", "0.50", "0.06", "0.07"),  # r·p = 0.125 → 0.13: no cent lost
        ("999.99", "0.0750", "0.3333", "25.00", "50.00"),  # r·p = 74.99925 → 75.00
        ("1000.00", "0.10", "1", "100.00", None),  # s = 1: nothing left for the cover
    ],
)
def test_split_credits_always_sum_to_r_times_p_rounded_once(world, price, rate, share, seller,
                                                             cover):
    world.product.unit_price = D(price)
    world.product.save()
    plan(world, rate, share=share)
    [device] = world.devices(1)
    world.stocking_order([device])
    case = world.event("case", rep=world.rep2, facility_stock_only=True)
    world.add(case, [device])
    world.submit(case)
    amounts = dict(CommissionCredit.objects.values_list("kind", "amount"))
    assert amounts.get("sale") == D(seller)
    assert amounts.get("usage") == (D(cover) if cover else None)
    expected = (D(rate) * D(price)).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert sum(amounts.values()) == expected


def test_the_most_specific_plan_wins(world):
    other_line = ProductLineFactory(manufacturer=world.maker, organization=world.org)
    other_product = ProductFactory(product_line=other_line, organization=world.org)
    plan(world, "0.01")  # organisation default
    plan(world, "0.02", line=world.line)  # line
    plan(world, "0.03", rep=world.rep)  # rep
    plan(world, "0.04", rep=world.rep, line=world.line)  # rep + line
    plans = list(CommissionPlan.objects.all())
    assert commission_plan_for(plans, world.rep.pk, world.line.pk).rate == D("0.04")
    assert commission_plan_for(plans, world.rep.pk, other_line.pk).rate == D("0.03")
    assert commission_plan_for(plans, world.rep2.pk, world.line.pk).rate == D("0.02")
    assert commission_plan_for(plans, world.rep2.pk, other_line.pk).rate == D("0.01")

    # And through Submit For Billing: each case credits by its own most specific plan.
    def case_credit(rep, product):
        [device] = world.devices(1, custodian=rep, product=product)
        case = world.event("case", rep=rep)
        world.add(case, [device])
        world.submit(case)
        return CommissionCredit.objects.get(device=device).amount

    assert case_credit(world.rep, world.product) == D("40.00")
    assert case_credit(world.rep, other_product) == D("30.00")
    assert case_credit(world.rep2, world.product) == D("20.00")
    assert case_credit(world.rep2, other_product) == D("10.00")


def test_no_plan_or_zero_rate_credits_nothing(world):
    [device] = world.devices(1)
    case = world.event("case")
    world.add(case, [device])
    world.submit(case)
    assert credits() == []
    plan(world, "0")
    [device] = world.devices(1)
    world.stocking_order([device])
    assert credits() == []


def test_a_rep_covering_their_own_stocking_order_gets_both_parts(world):
    plan(world, "0.10", share="0.60")
    [device] = world.devices(1)
    world.stocking_order([device])
    case = world.event("case", facility_stock_only=True)
    world.add(case, [device])
    world.submit(case)
    assert credits() == [("Rep", "sale", D("60.00")), ("Rep", "usage", D("40.00"))]
