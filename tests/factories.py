"""factory-boy factories. Devices are made through the services (see ``receive``)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Organization, User
from consignment.models import Facility, FacilityContact, ParLevel
from inventory.models import Manufacturer, Product, ProductLine
from inventory.udi import make_gtin

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = "Rep"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = User.Role.REP
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AdminFactory(UserFactory):
    role = User.Role.ADMIN
    is_staff = True


class ManagerFactory(UserFactory):
    role = User.Role.MANAGER
    is_staff = True


class ManufacturerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Manufacturer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Maker {n}")


class ProductLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductLine

    manufacturer = factory.SubFactory(ManufacturerFactory)
    organization = factory.SelfAttribute("manufacturer.organization")
    name = factory.Sequence(lambda n: f"Line {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    product_line = factory.SubFactory(ProductLineFactory)
    organization = factory.SelfAttribute("product_line.organization")
    reference = factory.Sequence(lambda n: f"REF-{n:05d}")
    gtin = factory.Sequence(lambda n: make_gtin(f"0{7612345000000 + n:012d}"[-13:]))
    description = factory.Sequence(lambda n: f"Pedicle screw 6.5 x {40 + n % 20} mm")
    unit_price = Decimal("1000.00")


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"St. Mary's {n}")
    address = "1 Hospital Way\nSpringfield"
    account_number = factory.Sequence(lambda n: f"ACC-{n:04d}")


class FacilityContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FacilityContact

    facility = factory.SubFactory(FacilityFactory)
    organization = factory.SelfAttribute("facility.organization")
    name = factory.Sequence(lambda n: f"Contact {n}")
    title = "Materials manager"


class ParLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParLevel

    facility = factory.SubFactory(FacilityFactory)
    organization = factory.SelfAttribute("facility.organization")
    product = factory.SubFactory(
        ProductFactory, organization=factory.SelfAttribute("..organization")
    )
    minimum = 5


def future(days: int = 365) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


# --- made through the services -----------------------------------------------------------------

_serials = iter(range(10_000, 10_000_000))


def receive(*, custodian, product=None, count: int = 1, expires_in_days: int = 365, lot="LOT-A",
            serials=None, actor=None, today=None):
    """Receive devices into ``custodian``'s custody through ``devices_receive``."""
    from inventory.services import devices_receive

    org = custodian.organization
    product = product or ProductFactory(product_line=ProductLineFactory(
        manufacturer=ManufacturerFactory(organization=org), organization=org), organization=org)
    actor = actor or AdminFactory(organization=org)
    serials = serials or [f"SN{next(_serials)}" for _ in range(count)]
    return devices_receive(
        actor=actor, product=product, lot=lot,
        expiration_date=(today or timezone.localdate()) + datetime.timedelta(days=expires_in_days),
        serials=serials, custodian=custodian, today=today,
    )


def make_event(*, actor, representative, facility, product_line, event_type="stocking_order",
               **kwargs):
    from events.services import event_create

    return event_create(
        actor=actor, event_type=event_type, name=kwargs.pop("name", f"{event_type} event"),
        date=kwargs.pop("date", timezone.localdate()), facility=facility,
        representative=representative, manufacturer=product_line.manufacturer,
        product_line=product_line, **kwargs,
    )


def blank_pdf(**extra) -> bytes:
    """A real one-page PDF (pypdf); ``extra`` entries are added to its catalogue."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    for key, value in extra.items():
        writer._root_object[NameObject(key)] = value
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
