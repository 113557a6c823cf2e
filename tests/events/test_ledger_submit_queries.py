"""Submit For Billing runs a bounded number of queries, whatever the number of lines."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions.models import CommissionCredit, CommissionPlan
from inventory.models import Device, DeviceMovement, DeviceStatus

pytestmark = pytest.mark.django_db

# Event lock, lines, device locks (read as locked) + their custodians or facilities, device
# update (one), bulk ledger insert, lines committed, commission plans (+ sales for
# facility stock), credits insert, counter upsert + lock + save, sales order insert, event save
# and the ledger chain head: lock + save; then
# the reports' two summaries, one INSERT … SELECT each (the event's line summary and its credit
# summary: two per submission, whatever the lines; 19 before them); then the outbox's messages
# for the API's webhooks (event submitted, sales order issued: one INSERT each); the contract
# prices of the lines (one query) and, when they differ from the marked price, one UPDATE.
MAX_QUERIES = 24


def draft(world, kind: str, count: int):
    from decimal import Decimal

    CommissionPlan.objects.get_or_create(
        organization=world.org, rep=None, product_line=None,
        defaults={"rate": Decimal("0.10"), "stocking_share": Decimal("0.60")},
    )
    if kind == "facility_stock":
        devices = world.facility_stock(count)
        event = world.event("case", facility_stock_only=True)
    else:
        devices = world.devices(count)
        event = world.event(kind)
    world.add(event, devices)
    return event, devices


@pytest.mark.parametrize("kind", ["case", "stocking_order", "facility_stock"])
@pytest.mark.parametrize("count", [10, 100])
def test_submit_for_billing_query_count_does_not_grow_with_lines(
    world, django_assert_max_num_queries, kind, count
):
    event, devices = draft(world, kind, count)
    movements = DeviceMovement.objects.count()
    with django_assert_max_num_queries(MAX_QUERIES):
        world.submit(event)
    assert DeviceMovement.objects.count() == movements + count
    ids = [d.pk for d in devices]
    expected = DeviceStatus.FACILITY_STOCK if kind == "stocking_order" else DeviceStatus.CONSUMED
    assert set(Device.objects.filter(pk__in=ids).values_list("status", flat=True)) == {expected}
    assert CommissionCredit.objects.filter(event=event).count() == count


def test_the_bound_is_tight_enough_to_catch_a_query_per_line(world):
    """Guard the guard: 10 lines fit well under the bound, so one query per line would not."""
    event, _ = draft(world, "case", 10)
    with CaptureQueriesContext(connection) as captured:
        world.submit(event)
    assert len(captured) + 10 > MAX_QUERIES


def test_facility_stock_sold_by_many_stocking_orders_is_consumed_in_one_device_update(
    world, django_assert_max_num_queries,
):
    """Each consumed device keeps the stocking order that sold it: as many distinct device states
    as stocking orders, still one device UPDATE on PostgreSQL (one per state elsewhere)."""
    CommissionPlan.objects.get_or_create(
        organization=world.org, rep=None, product_line=None,
        defaults={"rate": Decimal("0.10"), "stocking_share": Decimal("0.60")},
    )
    devices = [device for _ in range(6) for device in world.facility_stock(2)]
    case = world.event("case", facility_stock_only=True)
    world.add(case, devices)
    with CaptureQueriesContext(connection) as captured:
        world.submit(case)
    device_updates = [q["sql"] for q in captured.captured_queries
                      if q["sql"].startswith('UPDATE "inventory_device"')]
    assert len(device_updates) == 1
    assert len(captured.captured_queries) <= MAX_QUERIES
    stored = Device.objects.filter(pk__in=[d.pk for d in devices])
    assert {(d.status, d.used_in_id) for d in stored} == {(DeviceStatus.CONSUMED, case.pk)}
    assert {d.pk: d.sold_on_id for d in stored} == {d.pk: d.sold_on_id for d in devices}
