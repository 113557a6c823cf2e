"""Kits at scale: a template per product line and kits built from the reps' own units, some of
them out on loan, made through the kit services (so the ledger, the kit ledger and every
constraint hold), after ``seed_scale`` has loaded the devices with COPY. The kit pages of the
benchmark read them among a million devices."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from inventory.models import Device, DeviceStatus, KitTemplate, ProductLine


def seed_scale_kits(*, org: Organization, kits_per_rep: int = 20, loaned_share: float = 0.3,
                    today: datetime.date | None = None) -> int:
    """Build up to ``kits_per_rep`` kits for each rep of ``org`` (templates of three products,
    two units each, from the rep's available units); loan ``loaned_share`` of them to a facility.
    Returns the number of kits built."""
    from consignment.models import Facility
    from events.loan_services import loan_create
    from inventory.kit_services import kit_create, kit_template_create
    from inventory.selectors import sellable_devices

    today = today or timezone.localdate()
    admin = User.objects.filter(organization=org, role=User.Role.ADMIN).order_by("pk").first()
    reps = list(User.objects.filter(organization=org, role=User.Role.REP, is_active=True)
                .order_by("pk"))
    facility = Facility.objects.filter(organization=org).order_by("pk").first()
    if admin is None or not reps or facility is None:
        return 0
    built = 0
    for line in ProductLine.objects.filter(organization=org).order_by("pk")[:4]:
        products = list(line.products.order_by("pk")[:3])
        if len(products) < 3:
            continue
        template = KitTemplate.objects.filter(organization=org, name=f"{line.name} set").first()
        if template is None:
            template = kit_template_create(actor=admin, name=f"{line.name} set",
                                           product_line=line, items=[(p, 2) for p in products])
        for rep in reps:
            stock = sellable_devices(organization_id=org.pk, custodian_id=rep.pk, today=today)
            for n in range(kits_per_rep // 4 or 1):
                units = []
                for product in products:
                    units += list(stock.filter(product=product).exclude(
                        pk__in=[u.pk for u in units]).order_by("-expiration_date", "pk")[:2])
                if len(units) < 6:
                    break
                with transaction.atomic():
                    kit = kit_create(actor=admin, template=template,
                                     tag=f"S{line.pk}-{rep.pk}-{n}", custodian=rep,
                                     devices=units, today=today)
                    if (built % 10) < loaned_share * 10:
                        loan_create(actor=admin, kits=[kit], facility=facility,
                                    representative=rep, date=today,
                                    due_back=today + datetime.timedelta(days=n % 5),
                                    today=today)
                built += 1
    return built


def kits_summary(org: Organization) -> str:
    loaned = Device.objects.filter(organization=org, status=DeviceStatus.LOANED).count()
    in_kits = Device.objects.filter(organization=org, kit__isnull=False).count()
    return f"units in kits: {in_kits:,}; of them on loan: {loaned:,}"
