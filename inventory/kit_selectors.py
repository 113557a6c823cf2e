"""Reads for the kit screens: the kit list, a kit's contents against its template, the units a
refill may take. Each returns its rows with the joins applied; the kit page's queries do not grow
with the number of units."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from inventory.models import Device, DeviceStatus, Kit, KitTemplate, Product

EXPIRING_DAYS = 30


def kit_list(*, user, with_units: bool = True) -> QuerySet[Kit]:
    """The organisation's kits (a rep: the kits in their custody), with their template, custodian
    and facility; ``with_units`` counts each kit's units (``units``). A page of kits counts them
    with its states instead (``kit_states``): the count joins every kit to its units before the
    page is cut."""
    qs = Kit.objects.for_user(user).select_related(
        "template__product_line", "custodian", "facility", "loan"
    )
    if getattr(user, "is_rep", False):
        qs = qs.filter(custodian=user)
    if with_units:
        qs = qs.annotate(units=Count("devices"))
    return qs.order_by("tag")


def kit_template_list(*, user) -> QuerySet[KitTemplate]:
    return (KitTemplate.objects.for_user(user).select_related("product_line")
            .annotate(item_count=Count("items"), kit_count=Count("kits", distinct=True))
            .order_by("name"))


@dataclass
class ContentRow:
    """One product of a kit: what the template asks, what the kit holds."""

    product: Product
    required: int
    held: int = 0  # units in the kit
    expired: int = 0  # of them, expired on ``today``
    earliest: datetime.date | None = None  # earliest expiry of the units held

    @property
    def usable(self) -> int:
        return self.held - self.expired

    @property
    def short(self) -> int:
        return max(self.required - self.usable, 0)

    @property
    def extra(self) -> int:
        return max(self.usable - self.required, 0)


@dataclass
class KitContents:
    """A kit's contents against its template: complete, short (which products, how many),
    expiring (the earliest expiry of its contents) and expired units."""

    kit: Kit
    rows: list[ContentRow]
    today: datetime.date
    units: int = 0
    expired_units: list[Device] = field(default_factory=list)

    @property
    def shortfall(self) -> dict[int, int]:
        return {row.product.pk: row.short for row in self.rows if row.short}

    @property
    def is_complete(self) -> bool:
        return not self.shortfall

    @property
    def earliest_expiry(self) -> datetime.date | None:
        dates = [row.earliest for row in self.rows if row.earliest]
        return min(dates) if dates else None

    @property
    def expiring_soon(self) -> bool:
        earliest = self.earliest_expiry
        return bool(earliest and earliest <= self.today + datetime.timedelta(days=EXPIRING_DAYS))

    @property
    def state(self) -> str:
        if self.expired_units:
            return "expired units"
        if not self.is_complete:
            return "short"
        if self.expiring_soon:
            return "expiring"
        return "complete"

    @property
    def state_colour(self) -> str:
        return {"complete": "success", "short": "warning", "expiring": "info",
                "expired units": "danger"}[self.state]


def kit_contents(*, kit: Kit, today: datetime.date | None = None) -> KitContents:
    """Two queries: the template's items and the kit's units counted per product (the expired
    units themselves are listed, a handful at most)."""
    today = today or timezone.localdate()
    rows = {
        item.product_id: ContentRow(product=item.product, required=item.quantity)
        for item in kit.template.items.select_related("product").order_by("product__reference")
    }
    counts = (
        Device.objects.filter(kit=kit).values("product_id")
        .annotate(held=Count("id"), expired=Count("id", filter=Q(expiration_date__lt=today)),
                  earliest=Min("expiration_date"))
    )
    missing_products = []
    for count in counts:
        row = rows.get(count["product_id"])
        if row is None:  # a unit of a product the template does not list
            missing_products.append(count["product_id"])
            row = rows[count["product_id"]] = ContentRow(product=None, required=0)
        row.held, row.expired, row.earliest = count["held"], count["expired"], count["earliest"]
    if missing_products:
        for product in Product.objects.filter(pk__in=missing_products):
            rows[product.pk].product = product
    contents = KitContents(kit=kit, rows=list(rows.values()), today=today)
    contents.units = sum(row.held for row in contents.rows)
    if any(row.expired for row in contents.rows):
        contents.expired_units = list(
            Device.objects.filter(kit=kit, expiration_date__lt=today).select_related("product")
            .order_by("expiration_date", "pk")
        )
    return contents


def kit_devices(*, kit: Kit) -> QuerySet[Device]:
    """The units in a kit, with their product (for the kit page and the check-in)."""
    return (Device.objects.filter(kit=kit).select_related("product")
            .order_by("product__reference", "expiration_date", "pk"))


def kit_candidate_devices(*, kit: Kit, today: datetime.date | None = None) -> QuerySet[Device]:
    """The units that may be packed into a kit: available in its custodian's custody, in no kit,
    not in transit, unexpired, of a product of its template."""
    today = today or timezone.localdate()
    return (
        Device.objects.filter(
            organization_id=kit.organization_id, status=DeviceStatus.AVAILABLE,
            custodian_id=kit.custodian_id, kit__isnull=True, pending_transfer__isnull=True,
            expiration_date__gte=today,
            product_id__in=kit.template.items.values("product_id"),
        ).select_related("product").order_by("product__reference", "-expiration_date", "pk")
    )


def kit_by_tag(*, organization_id: int, tag: str) -> Kit | None:
    """The kit a scanned tag names (case-insensitive), or None."""
    tag = (tag or "").strip()
    if not tag or len(tag) > Kit._meta.get_field("tag").max_length:
        return None
    return Kit.objects.filter(organization_id=organization_id, tag__iexact=tag).first()


@dataclass
class KitState:
    """A kit's state for a list: short by how many units, expired units, earliest expiry."""

    units: int = 0
    short: int = 0
    expired: int = 0
    earliest: datetime.date | None = None
    today: datetime.date | None = None

    @property
    def label(self) -> str:
        if self.expired:
            return "expired units"
        if self.short:
            return "short"
        if self.earliest and self.today and self.earliest <= self.today + datetime.timedelta(
                days=EXPIRING_DAYS):
            return "expiring"
        return "complete"

    @property
    def colour(self) -> str:
        return {"complete": "success", "short": "warning", "expiring": "info",
                "expired units": "danger"}[self.label]


def kit_states(*, kits: list[Kit], today: datetime.date | None = None) -> dict[int, KitState]:
    """The state of each listed kit in two queries whatever the number of kits and units: the
    templates' items, and the kits' units counted per kit and product."""
    from inventory.models import KitTemplateItem

    today = today or timezone.localdate()
    required: dict[int, dict[int, int]] = {}
    for item in KitTemplateItem.objects.filter(
            template_id__in={k.template_id for k in kits}).values("template_id", "product_id",
                                                                  "quantity"):
        required.setdefault(item["template_id"], {})[item["product_id"]] = item["quantity"]
    usable: dict[int, dict[int, int]] = {}
    states = {kit.pk: KitState(today=today) for kit in kits}
    for row in (Device.objects.filter(kit_id__in=list(states)).values("kit_id", "product_id")
                .annotate(n=Count("id"), expired=Count("id", filter=Q(expiration_date__lt=today)),
                          earliest=Min("expiration_date"))):
        state = states[row["kit_id"]]
        state.units += row["n"]
        state.expired += row["expired"]
        if row["earliest"] and (state.earliest is None or row["earliest"] < state.earliest):
            state.earliest = row["earliest"]
        usable.setdefault(row["kit_id"], {})[row["product_id"]] = row["n"] - row["expired"]
    for kit in kits:
        held = usable.get(kit.pk, {})
        states[kit.pk].short = sum(max(q - held.get(p, 0), 0)
                                   for p, q in required.get(kit.template_id, {}).items())
    return states
