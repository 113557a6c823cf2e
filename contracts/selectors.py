"""Contract reads: the price list pages and the price resolver.

``contract_prices`` is the one answer to "what does this facility pay for these products on this
date": every entry of the contracts in force at the facility (its own, and its hospital
system's) for those products or their product lines, in ONE query; then, per product, the most
specific entry wins:

1. a product's own price beats a percentage off its product line;
2. for the same kind of entry, the facility's own contract beats its hospital system's.

No entry: the product's list price (``Product.unit_price``), no contract.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q

from contracts.models import Contract, ContractPrice, FacilityGroup, FacilityGroupMember
from inventory.models import Product

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ResolvedPrice:
    """The price a facility pays for a product on a date, and the contract entry that set it."""

    price: Decimal
    list_price: Decimal
    contract: Contract | None = None
    entry: ContractPrice | None = None

    @property
    def basis(self) -> str:
        """How the price was reached, in words a rep reads."""
        if self.entry is None:
            return "list price"
        if self.entry.product_id:
            return f"{self.contract} (contract price)"
        return f"{self.contract} ({self.entry.percent_off.normalize():f}% off list)"


def percent_off_price(list_price: Decimal, percent_off: Decimal) -> Decimal:
    return (list_price * (Decimal(100) - percent_off) / Decimal(100)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )


def in_force_q(on: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": on}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": on})
    )


def contract_prices(
    *,
    organization_id: int,
    facility_id: int,
    on: datetime.date,
    products: Iterable[Product],
) -> dict[int, ResolvedPrice]:
    """The price of each product (by pk) at ``facility_id`` on ``on``: one query, whatever the
    number of products. ``products`` carry their ``unit_price`` and ``product_line_id``."""
    products = {p.pk: p for p in products}
    if not products:
        return {}
    line_ids = {p.product_line_id for p in products.values()}
    entries = list(
        ContractPrice.objects.filter(organization_id=organization_id)
        .filter(in_force_q(on, "contract__"))
        .filter(
            Q(contract__facility_id=facility_id)
            | Q(contract__group__members__facility_id=facility_id)
        )
        .filter(Q(product_id__in=list(products)) | Q(product_line_id__in=line_ids))
        .select_related("contract")
    )
    best: dict[int, tuple[tuple[int, int], ContractPrice]] = {}
    by_product, by_line = {}, {}
    for entry in entries:
        if entry.product_id:
            by_product.setdefault(entry.product_id, []).append(entry)
        else:
            by_line.setdefault(entry.product_line_id, []).append(entry)
    resolved = {}
    for pk, product in products.items():
        for entry in by_product.get(pk, []) + by_line.get(product.product_line_id, []):
            rank = (0 if entry.product_id else 1, 0 if entry.contract.facility_id else 1)
            if pk not in best or rank < best[pk][0]:
                best[pk] = (rank, entry)
        if pk in best:
            entry = best[pk][1]
            price = (
                entry.price
                if entry.product_id
                else percent_off_price(product.unit_price, entry.percent_off)
            )
            resolved[pk] = ResolvedPrice(price, product.unit_price, entry.contract, entry)
        else:
            resolved[pk] = ResolvedPrice(product.unit_price, product.unit_price)
    return resolved


# --- the pages ------------------------------------------------------------------------------------


def contract_list(*, user):
    return (
        Contract.objects.for_user(user)
        .select_related("facility", "group")
        .annotate(entries=Count("prices"))
        .order_by("-valid_from", "name", "id")
    )


def contract_detail_qs(*, user):
    return Contract.objects.for_user(user).select_related("facility", "group", "created_by")


def contract_entries(*, contract: Contract):
    return contract.prices.select_related(
        "product__product_line", "product_line__manufacturer"
    ).order_by("product_line__name", "product__reference", "id")


def facility_groups(*, user):
    return (
        FacilityGroup.objects.for_user(user)
        .prefetch_related(
            Prefetch("members", queryset=FacilityGroupMember.objects.select_related("facility"))
        )
        .order_by("name")
    )
