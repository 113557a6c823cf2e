"""Reporting fixtures: a small organisation whose facility stock is made through the services."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Organization, User
from billing.submit import event_submit_for_billing
from commissions.models import CommissionCredit, CommissionCreditSummary, CommissionPlan
from consignment.models import Facility
from events.models import Event, EventLine, EventLineSummary
from events.services import event_add_devices
from inventory.models import Device, Product, ProductLine
from tests.factories import (
    AdminFactory,
    FacilityFactory,
    ManagerFactory,
    ManufacturerFactory,
    OrganizationFactory,
    ParLevelFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    make_event,
    receive,
)


@dataclass
class Shop:
    org: Organization
    admin: User
    manager: User
    seller: User  # sells facility stock with stocking orders
    coverer: User  # covers the facility and uses its stock in cases
    outsider: User  # a rep of the same organisation with nothing to do with the facility
    line: ProductLine
    product: Product
    facility: Facility

    def receive(self, n=1, *, custodian=None, product=None, expires_in_days=365, today=None):
        return receive(custodian=custodian or self.seller, product=product or self.product,
                       count=n, actor=self.admin, expires_in_days=expires_in_days, today=today)

    def stock(self, devices, *, facility=None, rep=None, today=None, name="Stocking order"):
        """Sell ``devices`` to a facility with a submitted stocking order."""
        today = today or timezone.localdate()
        rep = rep or self.seller
        event = make_event(actor=self.admin, representative=rep,
                           facility=facility or self.facility,
                           product_line=devices[0].product.product_line, name=name, date=today)
        event_add_devices(actor=self.admin, event=event, devices=devices, today=today)
        return event_submit_for_billing(actor=self.admin, event=event,
                                        signature_name="Alex Admin", today=today)

    def use(self, devices, *, facility=None, rep=None, today=None, surgeon="Dr. Grey",
            name="Case"):
        """Record the use of facility stock in a submitted case of the covering rep."""
        today = today or timezone.localdate()
        event = make_event(actor=self.admin, representative=rep or self.coverer,
                           facility=facility or self.facility,
                           product_line=devices[0].product.product_line, event_type="case",
                           name=name, date=today, patient_id="PT-1", surgeon=surgeon,
                           facility_stock_only=True)
        event_add_devices(actor=self.admin, event=event, devices=devices, today=today)
        return event_submit_for_billing(actor=self.admin, event=event,
                                        signature_name="Alex Admin", today=today)

    def case(self, devices, *, rep=None, facility=None, today=None, surgeon="Dr. House"):
        """A case with rep inventory: sold and consumed at once."""
        today = today or timezone.localdate()
        event = make_event(actor=self.admin, representative=rep or self.seller,
                           facility=facility or self.facility,
                           product_line=devices[0].product.product_line, event_type="case",
                           name="Rep case", date=today, patient_id="PT-2", surgeon=surgeon)
        event_add_devices(actor=self.admin, event=event, devices=devices, today=today)
        return event_submit_for_billing(actor=self.admin, event=event,
                                        signature_name="Alex Admin", today=today)

    def new_product(self, **kwargs) -> Product:
        return ProductFactory(organization=self.org, product_line=self.line, **kwargs)

    def new_facility(self, *reps, **kwargs) -> Facility:
        facility = FacilityFactory(organization=self.org, **kwargs)
        facility.reps.add(*reps)
        return facility

    def par(self, product, minimum, facility=None):
        return ParLevelFactory(organization=self.org, facility=facility or self.facility,
                               product=product, minimum=minimum)


def build_shop() -> Shop:
    """The reports' world (also for browser tests, which build it inside their own database)."""
    org = OrganizationFactory(name="Summit Surgical")
    maker = ManufacturerFactory(organization=org, name="Meridian Spine")
    line = ProductLineFactory(organization=org, manufacturer=maker, name="Pedicle Screws")
    product = ProductFactory(organization=org, product_line=line, reference="MS-00001",
                             description="Polyaxial pedicle screw 6.5 x 45 mm",
                             unit_price=Decimal("1000.00"))
    seller = UserFactory(organization=org, username="seller", first_name="Riley",
                         last_name="Seller")
    coverer = UserFactory(organization=org, username="coverer", first_name="Sam",
                          last_name="Cover")
    outsider = UserFactory(organization=org, username="outsider", first_name="Olli",
                           last_name="Outside")
    facility = FacilityFactory(organization=org, name="St. Mary's")
    facility.reps.add(coverer)
    CommissionPlan.objects.create(organization=org, rate=Decimal("0.1000"),
                                  stocking_share=Decimal("0.6000"))
    return Shop(org=org, admin=AdminFactory(organization=org, username="boss",
                                            email="boss@example.com"),
                manager=ManagerFactory(organization=org, username="mgr"),
                seller=seller, coverer=coverer, outsider=outsider, line=line, product=product,
                facility=facility)


@pytest.fixture
def shop(db) -> Shop:
    return build_shop()


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


SUMMARY_FIELDS = ("organization_id", "event_id", "date", "event_type", "representative_id",
                  "facility_id", "surgeon", "product_id", "kind", "lines", "amount",
                  "sold_amount")


def recount() -> set[tuple]:
    """The summary worked out again from the committed lines, with the ORM."""
    sale_price = EventLine.objects.filter(
        event_id=OuterRef("sold_by_id"), device_id=OuterRef("device_id"),
        kind=EventLine.Kind.SALE, committed=True,
    ).values("price")
    rows = (
        EventLine.objects.filter(committed=True)
        .annotate(sale_price=Subquery(sale_price))
        .values("event__organization_id", "event_id", "event__date", "event__event_type",
                "event__representative_id", "event__facility_id", "event__surgeon",
                "device__product_id", "kind")
        .annotate(n=Count("pk"), amount=Sum("price"),
                  sold=Coalesce(Sum("sale_price"), Decimal("0.00")))
        .order_by()
    )
    return {tuple(r.values()) for r in rows}


def summary() -> set[tuple]:
    return set(EventLineSummary.objects.values_list(*SUMMARY_FIELDS))


CREDIT_SUMMARY_FIELDS = ("organization_id", "event_id", "event_type", "facility_id", "rep_id",
                         "kind", "product_id", "created_at", "credits", "amount")


def credit_recount() -> set[tuple]:
    """The credit summary worked out again from the credits, with the ORM."""
    rows = (CommissionCredit.objects.values(
        "organization_id", "event_id", "event__event_type", "event__facility_id", "rep_id",
        "kind", "device__product_id", "created_at",
    ).annotate(n=Count("pk"), total=Sum("amount")).order_by())
    return {tuple(r.values()) for r in rows}


def credit_summary() -> set[tuple]:
    return set(CommissionCreditSummary.objects.values_list(*CREDIT_SUMMARY_FIELDS))


__all__ = ["Device", "Event", "Shop", "credit_recount", "credit_summary", "days", "recount",
           "summary"]
