"""Kits at scale: a template per product line and kits built from the reps' own units, some of
them out on loan, made through the kit services (so the ledger, the kit ledger and every
constraint hold), after ``seed_scale`` has loaded the devices with COPY. The kit pages of the
benchmark read them among a million devices."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Organization, User
from inventory.models import Device, DeviceStatus, KitTemplate, Product, ProductLine


def seed_scale_kits(*, org: Organization, kits_per_rep: int = 20, loaned_share: float = 0.3,
                    today: datetime.date | None = None) -> int:
    """Build up to ``kits_per_rep`` kits per template for each rep of ``org`` (a template per
    product line: the three products most reps hold, two units each) from the rep's available
    units, short where the rep lacks some; loan ``loaned_share`` of them to a facility. Returns
    the number of kits built."""
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
    # The products the reps hold sellable units of, per product line.
    held: dict[int, dict[int, set[int]]] = {}
    for rep_id, line_id, product_id, n in (
        Device.objects.filter(organization=org, status=DeviceStatus.AVAILABLE, kit__isnull=True,
                              pending_transfer__isnull=True, expiration_date__gte=today,
                              custodian__in=reps)
        .values_list("custodian_id", "product__product_line_id", "product_id")
        .annotate(n=Count("pk")).order_by()
    ):
        if n >= 1:
            held.setdefault(line_id, {}).setdefault(product_id, set()).add(rep_id)
    lines = ProductLine.objects.in_bulk(list(held))
    for line_id, products in sorted(held.items()):
        # The three products most reps hold: the template's items.
        chosen = sorted(products, key=lambda pid: (-len(products[pid]), pid))[:3]
        if len(chosen) < 3:
            continue
        line = lines[line_id]
        template = KitTemplate.objects.filter(organization=org, name=f"{line.name} set").first()
        if template is None:
            template = kit_template_create(
                actor=admin, name=f"{line.name} set", product_line=line,
                items=[(p, 2) for p in Product.objects.filter(pk__in=chosen)])
        chosen = list(template.items.values_list("product_id", flat=True))
        for rep in reps:
            stock = sellable_devices(organization_id=org.pk, custodian_id=rep.pk, today=today)
            for n in range(kits_per_rep):
                units = []
                for product_id in chosen:
                    units += list(stock.filter(product_id=product_id).order_by(
                        "-expiration_date", "pk")[:2])
                if len(units) < 2:  # a short kit is a kit too (its page says what it lacks)
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
