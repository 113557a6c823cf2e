"""Contract writes: hospital systems, contracts and their price entries (admins only).

Two contracts of the same scope (facility, or hospital system) may not overlap in time: checked
here with a message, and refused by the database's exclusion constraints whatever the path.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.models import User
from accounts.permissions import ensure_permission
from consignment.models import Facility
from contracts.models import Contract, ContractPrice, FacilityGroup, FacilityGroupMember
from core.db import service_transaction
from core.permissions import ensure_same_organization
from inventory.models import Product, ProductLine

OVERLAP_CONSTRAINTS = ("contract_facility_no_overlap", "contract_group_no_overlap")


@service_transaction
def facility_group_create(*, actor: User, name: str, facilities: list[Facility]) -> FacilityGroup:
    """A hospital system and its facilities (a facility belongs to one system at most)."""
    ensure_permission(actor, "manage_contracts")
    ensure_same_organization(actor, *facilities)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the hospital system."})
    if FacilityGroup.objects.filter(
        organization_id=actor.organization_id, name__iexact=name
    ).exists():
        raise ValidationError({"name": f"There is already a hospital system named {name}."})
    if not facilities:
        raise ValidationError({"facilities": "Choose at least one facility."})
    taken = FacilityGroupMember.objects.filter(facility__in=facilities).select_related(
        "facility", "group"
    )
    if taken:
        raise ValidationError(
            {"facilities": [f"{m.facility} already belongs to {m.group}." for m in taken]}
        )
    group = FacilityGroup.objects.create(organization_id=actor.organization_id, name=name)
    FacilityGroupMember.objects.bulk_create(
        [
            FacilityGroupMember(organization_id=actor.organization_id, group=group, facility=f)
            for f in facilities
        ]
    )
    return group


def _check_dates(valid_from, valid_to) -> None:
    if valid_from is None:
        raise ValidationError({"valid_from": "Enter the date the contract starts."})
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError({"valid_to": "The contract can't end before it starts."})


def _overlapping(contract: Contract) -> Contract | None:
    scope = (
        {"facility_id": contract.facility_id}
        if contract.facility_id
        else {"group_id": contract.group_id}
    )
    others = (
        Contract.objects.filter(**scope)
        .exclude(pk=contract.pk)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=contract.valid_from))
    )
    if contract.valid_to is not None:
        others = others.filter(valid_from__lte=contract.valid_to)
    return others.order_by("valid_from").first()


def _save(contract: Contract) -> Contract:
    clash = _overlapping(contract)
    if clash is not None:
        raise ValidationError(
            f"{contract.scope} already has contract {clash} in force {clash.validity}: "
            "contracts of the same facility or hospital system can't overlap.",
            code="overlap",
        )
    if (
        Contract.objects.filter(
            organization_id=contract.organization_id, name__iexact=contract.name
        )
        .exclude(pk=contract.pk)
        .exists()
    ):
        raise ValidationError({"name": f"There is already a contract named {contract.name}."})
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as error:
        if any(name in str(error) for name in OVERLAP_CONSTRAINTS):
            raise ValidationError(
                f"{contract.scope} already has a contract in force on some of these dates: "
                "contracts of the same facility or hospital system can't overlap.",
                code="overlap",
            ) from None
        raise
    return contract


@service_transaction
def contract_create(
    *,
    actor: User,
    name: str,
    valid_from: datetime.date,
    valid_to: datetime.date | None = None,
    facility: Facility | None = None,
    group: FacilityGroup | None = None,
) -> Contract:
    """A price list for a facility or a hospital system (one of the two), with its dates."""
    ensure_permission(actor, "manage_contracts")
    ensure_same_organization(actor, facility, group)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the contract."})
    if (facility is None) == (group is None):
        raise ValidationError("A contract covers either one facility or one hospital system.")
    _check_dates(valid_from, valid_to)
    return _save(
        Contract(
            organization_id=actor.organization_id,
            name=name,
            facility=facility,
            group=group,
            valid_from=valid_from,
            valid_to=valid_to,
            created_by=actor,
        )
    )


@service_transaction
def contract_update(
    *,
    actor: User,
    contract: Contract,
    name: str,
    valid_from: datetime.date,
    valid_to: datetime.date | None,
) -> Contract:
    """Rename a contract or change its dates (submitted events keep their frozen prices)."""
    ensure_permission(actor, "manage_contracts")
    ensure_same_organization(actor, contract)
    contract = (
        Contract.objects.select_for_update(of=("self",), no_key=True)
        .select_related("facility", "group")
        .get(pk=contract.pk)
    )
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the contract."})
    _check_dates(valid_from, valid_to)
    contract.name, contract.valid_from, contract.valid_to = name, valid_from, valid_to
    return _save(contract)


def entry_problem(
    *,
    product: Product | None,
    product_line: ProductLine | None,
    price: Decimal | None,
    percent_off: Decimal | None,
) -> str | None:
    """What is wrong with a price entry, or None (shared by the form and the CSV import)."""
    if product is not None and product_line is not None:
        return "name a product or a product line, not both."
    if product is None and product_line is None:
        return "name a product (its reference) or a product line."
    if product is not None:
        if percent_off is not None:
            return "a product takes a contract price; a percentage off applies to a product line."
        if price is None:
            return f"enter the contract price of {product.reference}."
        if price < 0:
            return "the price can't be negative."
        if price >= Decimal("1e10"):
            return "the price is too large."
    else:
        if price is not None:
            return "a product line takes a percentage off list; a price applies to a product."
        if percent_off is None:
            return f"enter the percentage off list for {product_line}."
        if not Decimal(0) < percent_off <= Decimal(100):
            return "the percentage off must be more than 0 and at most 100."
    return None


def entry_write(contract, product, product_line, price, percent_off) -> ContractPrice:
    lookup = {"product": product} if product is not None else {"product_line": product_line}
    entry, _ = ContractPrice.objects.update_or_create(
        contract=contract,
        **lookup,
        defaults={
            "organization_id": contract.organization_id,
            "price": price,
            "percent_off": percent_off,
        },
    )
    return entry


@service_transaction
def contract_price_set(
    *,
    actor: User,
    contract: Contract,
    product: Product | None = None,
    product_line: ProductLine | None = None,
    price: Decimal | None = None,
    percent_off: Decimal | None = None,
) -> ContractPrice:
    """Add or change one entry: a product's price, or a product line's percentage off list."""
    ensure_permission(actor, "manage_contracts")
    ensure_same_organization(actor, contract, product, product_line)
    problem = entry_problem(
        product=product, product_line=product_line, price=price, percent_off=percent_off
    )
    if problem:
        raise ValidationError(problem[0].upper() + problem[1:])
    return entry_write(contract, product, product_line, price, percent_off)


@service_transaction
def contract_price_delete(*, actor: User, entry: ContractPrice) -> None:
    ensure_permission(actor, "manage_contracts")
    ensure_same_organization(actor, entry)
    ContractPrice.objects.filter(pk=entry.pk).delete()
