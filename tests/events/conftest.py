"""Shared domain fixtures: a small organisation (``world``) built through the services.

Imported by ``tests/inventory/conftest.py`` too, so both folders share one ``world``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Organization, User
from billing.models import SalesOrder
from commissions.models import CommissionCredit
from consignment.models import Facility
from events.models import Event, EventLine
from inventory.models import Device, DeviceMovement, Manufacturer, Product, ProductLine
from tests.factories import (
    AdminFactory,
    FacilityFactory,
    ManagerFactory,
    ManufacturerFactory,
    OrganizationFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    make_event,
    receive,
)


@dataclass
class World:
    org: Organization
    admin: User
    rep: User
    rep2: User
    manager: User
    maker: Manufacturer
    line: ProductLine
    product: Product
    st_marys: Facility
    mercy: Facility

    def devices(self, n: int = 1, custodian: User | None = None, **kwargs) -> list[Device]:
        """``n`` AVAILABLE devices received into ``custodian``'s custody (default: rep)."""
        kwargs.setdefault("product", self.product)
        return receive(custodian=custodian or self.rep, count=n, actor=self.admin, **kwargs)

    def event(self, event_type: str = "case", *, rep: User | None = None,
              facility: Facility | None = None, actor: User | None = None, **kwargs) -> Event:
        if event_type == "case":
            kwargs.setdefault("patient_id", "PT-1001")
        return make_event(
            actor=actor or self.admin, representative=rep or self.rep,
            facility=facility or self.st_marys, product_line=self.line, event_type=event_type,
            **kwargs,
        )

    def submit(self, event: Event, *, actor: User | None = None, today=None) -> Event:
        from billing.submit import event_submit_for_billing

        return event_submit_for_billing(
            actor=actor or self.admin, event=event, signature_name="Pat Rep", today=today
        )

    def add(self, event: Event, devices, *, actor: User | None = None, today=None):
        from events.services import event_add_devices

        return event_add_devices(actor=actor or self.admin, event=event, devices=devices,
                                 today=today)

    def stocking_order(self, devices, *, facility: Facility | None = None,
                       rep: User | None = None) -> Event:
        """A submitted stocking order selling ``devices`` to ``facility`` (St. Mary's)."""
        event = self.event("stocking_order", facility=facility, rep=rep)
        self.add(event, devices)
        return self.submit(event)

    def facility_stock(self, n: int = 1, *, facility: Facility | None = None) -> list[Device]:
        """``n`` FACILITY_STOCK devices at ``facility`` (sold by one stocking order)."""
        devices = self.devices(n)
        self.stocking_order(devices, facility=facility)
        return [Device.objects.get(pk=d.pk) for d in devices]


def build_world(org: Organization | None = None, *, price=Decimal("1000.00")) -> World:
    org = org or OrganizationFactory()
    maker = ManufacturerFactory(organization=org, name="Acme Spine")
    line = ProductLineFactory(manufacturer=maker, organization=org, name="Pedicle Screws")
    return World(
        org=org,
        admin=AdminFactory(organization=org, username=f"admin-{org.pk}"),
        rep=UserFactory(organization=org, first_name="Ann", last_name="Rep"),
        rep2=UserFactory(organization=org, first_name="Bob", last_name="Cover"),
        manager=ManagerFactory(organization=org),
        maker=maker,
        line=line,
        product=ProductFactory(product_line=line, organization=org, unit_price=price),
        st_marys=FacilityFactory(organization=org, name="St. Mary's"),
        mercy=FacilityFactory(organization=org, name="Mercy General"),
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


def db_state() -> dict:
    """Everything a rule violation must leave untouched, in one comparable value."""
    return {
        "devices": sorted(
            Device.objects.values_list(
                "pk", "status", "custodian_id", "facility_id", "sold_on_id", "used_in_id",
                "pending_transfer_id",
            )
        ),
        "movements": DeviceMovement.objects.count(),
        "lines": sorted(EventLine.objects.values_list("pk", "event_id", "device_id", "price",
                                                      "committed")),
        "events": sorted(Event.objects.values_list("pk", "status", "patient_id", "name")),
        "credits": CommissionCredit.objects.count(),
        "sales_orders": SalesOrder.objects.count(),
    }


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)
