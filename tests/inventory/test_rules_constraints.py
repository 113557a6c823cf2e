"""Rule 9: the database itself refuses rows that break the per-row rules (bypassing services)."""

import pytest
from django.db import IntegrityError, transaction

from events.models import EventLine
from inventory.models import Device, DeviceStatus

pytestmark = pytest.mark.django_db


def refused_by_database(queryset, **changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset.update(**changes)


def test_device_state_constraints(world):
    [available] = world.devices(1)
    [stock] = world.facility_stock(1)
    one = Device.objects.filter(pk=available.pk)
    shelf = Device.objects.filter(pk=stock.pk)
    refused_by_database(one, status="lost")  # not a status
    refused_by_database(one, status=DeviceStatus.FACILITY_STOCK)  # no facility, no sale
    refused_by_database(one, facility=world.st_marys)  # available at a facility
    refused_by_database(one, custodian=None)  # available in nobody's custody
    refused_by_database(shelf, facility=None)  # facility stock nowhere
    refused_by_database(shelf, sold_on=None)  # facility stock never sold
    refused_by_database(shelf, custodian=world.rep)  # facility stock in a rep's custody
    refused_by_database(shelf, status=DeviceStatus.CONSUMED)  # consumed but never used
    refused_by_database(shelf, status=DeviceStatus.AVAILABLE)  # sold, then sellable again
    assert Device.objects.get(pk=available.pk).status == DeviceStatus.AVAILABLE
    assert Device.objects.get(pk=stock.pk).status == DeviceStatus.FACILITY_STOCK


def test_only_an_available_device_can_be_in_transit(world):
    from inventory.services import devices_transfer

    [device] = world.devices(1)
    transfer = devices_transfer(actor=world.rep, devices=[device], to_custodian=world.rep2)
    [stock] = world.facility_stock(1)
    refused_by_database(Device.objects.filter(pk=stock.pk), pending_transfer=transfer)


def test_serial_unique_per_product(world):
    [device] = world.devices(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.create(
            organization=world.org, product=world.product, serial=device.serial, lot="X",
            expiration_date=device.expiration_date, custodian=world.rep,
        )


def test_event_line_constraints_price_and_sold_once(world):
    [device] = world.devices(1)
    case = world.event("case")
    [line] = world.add(case, [device])
    lines = EventLine.objects.filter(pk=line.pk)
    refused_by_database(lines, price=-1)
    refused_by_database(lines, kind="usage")  # a use is at no charge and names its sale
    world.submit(case)
    other = world.event("stocking_order")
    second = EventLine.objects.create(event=other, device=device, price=1)
    # A second committed sale of one device: impossible to double-bill.
    refused_by_database(EventLine.objects.filter(pk=second.pk), committed=True)
