"""core.db.bulk_insert and bulk_update: many rows written in one statement (on PostgreSQL),
without the ORM's per-value preparation."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commissions.models import CommissionCredit
from core.db import bulk_insert, bulk_update
from inventory.models import Device, DeviceMovement

pytestmark = pytest.mark.django_db


NOW = timezone.now()


def credits(world, devices, event, now=NOW):
    return [
        CommissionCredit(
            organization_id=world.org.pk, rep_id=world.rep.pk, event_id=event.pk,
            device_id=device.pk, kind=CommissionCredit.Kind.SALE,
            amount=Decimal("1.25") * (i + 1), base_price=Decimal("12.50"), rate=Decimal("0.1000"),
            stocking_share=Decimal("1"), created_at=now - datetime.timedelta(minutes=i),
        )
        for i, device in enumerate(devices)
    ]


def test_bulk_insert_writes_the_rows_bulk_create_writes_in_one_statement(world):
    devices = world.devices(3)
    event = world.event("stocking_order")
    fast = credits(world, devices, event)
    with CaptureQueriesContext(connection) as captured:
        saved = bulk_insert(fast)
    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert saved == fast
    assert all(c.pk is not None and not c._state.adding for c in fast)
    assert [c.pk for c in fast] == sorted(c.pk for c in fast)  # in the order given
    other = world.event("stocking_order")
    slow = CommissionCredit.objects.bulk_create(credits(world, devices, other))

    def stored(objs):
        return [
            CommissionCredit.objects.filter(pk=c.pk).values(
                "organization_id", "rep_id", "device_id", "kind", "amount", "base_price",
                "rate", "stocking_share", "created_at", "paid_at",
            ).get()
            for c in objs
        ]

    assert stored(fast) == stored(slow)
    assert stored(fast)[1]["amount"] == Decimal("2.50")


def test_bulk_insert_keeps_long_text_and_nulls(world):
    """No cast shortens a value (varchar[] without a length) and empty foreign keys stay NULL."""
    [device] = world.devices(1)
    note = "n" * 500
    [movement] = bulk_insert([DeviceMovement(
        organization_id=world.org.pk, device_id=device.pk, actor_id=world.admin.pk,
        kind="transferred", from_status="available", to_status="available", note=note,
        chain_seq=10**6, chain_hash="f" * 64,
    )])
    stored = DeviceMovement.objects.get(pk=movement.pk)
    assert stored.note == note
    assert (stored.event_id, stored.transfer_id, stored.facility_id) == (None, None, None)


def test_bulk_insert_of_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk_insert([]) == []


def test_bulk_insert_refuses_what_the_column_refuses(world):
    """A value too long for its column fails as bulk_create's would, never silently cut."""
    from django.db import DataError, transaction

    [device] = world.devices(1)
    with pytest.raises(DataError), transaction.atomic():
        bulk_insert([DeviceMovement(
            organization_id=world.org.pk, device_id=device.pk, actor_id=world.admin.pk,
            kind="x" * 40, from_status="available", to_status="available",
            chain_seq=10**6, chain_hash="f" * 64,
        )])


def test_bulk_update_writes_each_rows_own_values(world):
    """Three devices, three new custodians (three distinct states): each row gets its own."""
    devices = world.devices(3)
    for device, custodian in zip(devices, [world.rep2, world.admin, world.rep], strict=True):
        device.custodian = custodian
    untouched = world.devices(1)[0]
    with CaptureQueriesContext(connection) as captured:
        bulk_update(devices, ["custodian", "pending_transfer"])
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert [Device.objects.get(pk=d.pk).custodian_id for d in devices] == [
        world.rep2.pk, world.admin.pk, world.rep.pk]
    assert Device.objects.get(pk=untouched.pk).custodian_id == world.rep.pk


def test_bulk_update_of_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        bulk_update([], ["status"])
