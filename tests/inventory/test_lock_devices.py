"""inventory.services.lock_devices: one locking query that returns each device as it is once
the lock is held, with its product, custodian and facility read after the lock."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.services import devices_transfer, lock_devices
from tests.concurrency import devices_held_meanwhile
from tests.events.conftest import build_world


@pytest.mark.django_db
def test_lock_devices_reads_devices_products_and_custodians_in_two_queries(world):
    devices = world.devices(5)
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        locked = lock_devices(reversed([d.pk for d in devices]))
    assert [d.pk for d in locked] == sorted(d.pk for d in devices)  # primary-key order
    queries = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(queries) == 2  # the locking read (product, line joined) and the custodians
    with CaptureQueriesContext(connection) as later:
        assert {d.custodian for d in locked} == {world.rep}
        assert {d.product.product_line.manufacturer_id for d in locked} == {world.maker.pk}
        assert {d.facility for d in locked} == {None}
    assert later.captured_queries == []


@pytest.mark.django_db(transaction=True)
def test_a_device_that_changed_while_waiting_for_its_lock_comes_back_as_it_is_now():
    """Another transaction holds the row and moves the device to rep2; the waiting lock returns
    the device in rep2's custody (custodian object included), not as it was before the wait."""
    world = build_world()
    [device] = world.devices(1)

    def to_rep2():
        devices_transfer(actor=world.admin, devices=[device], to_custodian=world.rep2)

    with devices_held_meanwhile([device.pk], seconds=0.5, then=to_rep2), transaction.atomic():
        [locked] = lock_devices([device.pk])  # waits for the row
    assert (locked.custodian_id, locked.custodian) == (world.rep2.pk, world.rep2)
    assert locked.product == world.product
