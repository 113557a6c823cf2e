"""Facility contracts: negotiated price lists with effective dates.

A ``Contract`` covers one facility, or every facility of a ``FacilityGroup`` (a hospital system).
Its ``ContractPrice`` rows are either a price for one product or a percentage off list price for
a whole product line. Which entry prices a line is ``contracts.selectors.contract_prices``: the
most specific entry of a contract in force on the event's date wins.

The database refuses two contracts of the same scope (the same facility, or the same group) whose
dates overlap: an exclusion constraint over ``daterange(valid_from, valid_to, '[]')`` (GiST, with
the ``btree_gist`` extension for the equality part). A facility belongs to at most one group, so
on any date at most one facility contract and one group contract apply to it.
"""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone

from core.tenancy import TenantQuerySet


class DateRangeFunc(Func):
    """``daterange(lower, upper, bounds)``: an open ``valid_to`` (NULL) has no upper bound."""

    function = "daterange"
    output_field = DateRangeField()


def _validity():
    return DateRangeFunc(F("valid_from"), F("valid_to"), Value("[]"))


class FacilityGroup(models.Model):
    """A hospital system: facilities that buy on one contract."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="facility_group_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FacilityGroupMember(models.Model):
    """A facility's hospital system (one at most)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    group = models.ForeignKey(FacilityGroup, on_delete=models.CASCADE, related_name="members")
    facility = models.OneToOneField(
        "consignment.Facility", on_delete=models.CASCADE, related_name="group_membership"
    )

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["facility__name"]

    def __str__(self) -> str:
        return f"{self.facility} in {self.group}"


class Contract(models.Model):
    """A price list for one facility or one hospital system, in force from ``valid_from`` to
    ``valid_to`` (inclusive; empty: open-ended)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    facility = models.ForeignKey(
        "consignment.Facility",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
    )
    group = models.ForeignKey(
        FacilityGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
        verbose_name="hospital system",
    )
    valid_from = models.DateField("valid from")
    valid_to = models.DateField("valid to", null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["-valid_from", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="contract_name_unique"),
            models.CheckConstraint(
                condition=Q(facility__isnull=False, group__isnull=True)
                | Q(facility__isnull=True, group__isnull=False),
                name="contract_one_scope",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="contract_dates_ordered",
            ),
            ExclusionConstraint(
                name="contract_facility_no_overlap",
                expressions=[
                    ("facility", RangeOperators.EQUAL),
                    (_validity(), RangeOperators.OVERLAPS),
                ],
                condition=Q(facility__isnull=False),
            ),
            ExclusionConstraint(
                name="contract_group_no_overlap",
                expressions=[
                    ("group", RangeOperators.EQUAL),
                    (_validity(), RangeOperators.OVERLAPS),
                ],
                condition=Q(group__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["organization", "valid_from"])]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self):
        """The facility or the hospital system the contract covers."""
        return self.facility or self.group

    @property
    def validity(self) -> str:
        end = f"{self.valid_to:%Y-%m-%d}" if self.valid_to else "open-ended"
        return f"{self.valid_from:%Y-%m-%d} – {end}"

    def in_force(self, on) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


class ContractPrice(models.Model):
    """One entry of a contract: a product's price, or a percentage off list for a product line."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="prices")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product_line = models.ForeignKey(
        "inventory.ProductLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    percent_off = models.DecimalField(
        "percent off list", max_digits=5, decimal_places=2, null=True, blank=True
    )

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    product__isnull=False,
                    price__isnull=False,
                    product_line__isnull=True,
                    percent_off__isnull=True,
                )
                | Q(
                    product__isnull=True,
                    price__isnull=True,
                    product_line__isnull=False,
                    percent_off__isnull=False,
                ),
                name="contract_price_product_or_line",
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0),
                name="contract_price_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True) | Q(percent_off__gt=0, percent_off__lte=100),
                name="contract_percent_off_range",
            ),
            models.UniqueConstraint(
                fields=["contract", "product"],
                condition=Q(product__isnull=False),
                name="contract_price_product_once",
            ),
            models.UniqueConstraint(
                fields=["contract", "product_line"],
                condition=Q(product_line__isnull=False),
                name="contract_price_line_once",
            ),
        ]

    def __str__(self) -> str:
        if self.product_id:
            return f"{self.product}: {self.price}"
        return f"{self.product_line}: {self.percent_off}% off list"
