"""Contract reports: sales by facility and contract, and the price overrides, over committed sale
lines (their prices are the ones frozen at Submit For Billing). A rep sees their own events only.

The sales are one GROUP BY over the period's committed sale lines; the overrides list reads only
the lines an admin priced by hand (a few), newest first, capped for the page.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from events.models import EventLine
from reporting.selectors.scope import ReportFilters, Scope

OVERRIDES_SHOWN = 500


def _lines(scope: Scope, filters: ReportFilters):
    qs = EventLine.objects.filter(
        event__organization_id=scope.organization_id,
        committed=True,
        kind=EventLine.Kind.SALE,
        event__date__gte=filters.date_from,
        event__date__lte=filters.date_to,
    )
    if scope.rep_id is not None:
        qs = qs.filter(event__representative_id=scope.rep_id)
    if filters.facility_id:
        qs = qs.filter(event__facility_id=filters.facility_id)
    if filters.product_line_id:
        qs = qs.filter(device__product__product_line_id=filters.product_line_id)
    return qs


def sales_by_contract(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Per facility and contract (no contract: list price or override): units, amount billed,
    the list price of the same units, and the difference."""
    rows = (
        _lines(scope, filters)
        .order_by()
        .values("event__facility__name", "contract__name")
        .annotate(
            units=Count("id"),
            amount=Sum("price"),
            list_amount=Sum("device__product__unit_price"),
            overrides=Count("id", filter=~Q(price_override_reason="")),
        )
        .order_by("event__facility__name", F("contract__name").asc(nulls_last=True))
    )
    return [
        {
            "facility": row["event__facility__name"],
            "contract": row["contract__name"] or "",
            "units": row["units"],
            "amount": row["amount"],
            "list_amount": row["list_amount"],
            "discount": (row["list_amount"] or Decimal(0)) - (row["amount"] or Decimal(0)),
            "overrides": row["overrides"],
        }
        for row in rows
    ]


def price_overrides(scope: Scope, filters: ReportFilters, limit: int | None = OVERRIDES_SHOWN):
    """The committed lines whose price an admin overrode, newest event first."""
    qs = (
        _lines(scope, filters)
        .exclude(price_override_reason="")
        .select_related(
            "event__facility", "event__representative", "device__product", "price_overridden_by"
        )
        .order_by("-event__date", "-id")
    )
    return qs[:limit] if limit else qs


def price_override_counts(scope: Scope, filters: ReportFilters) -> dict:
    """How many lines were overridden, and by how much below (or above) list price, in all."""
    totals = (
        _lines(scope, filters)
        .exclude(price_override_reason="")
        .aggregate(
            n=Count("id"), amount=Sum("price"), list_amount=Sum("device__product__unit_price")
        )
    )
    return {
        "count": totals["n"],
        "amount": totals["amount"] or Decimal("0.00"),
        "list_amount": totals["list_amount"] or Decimal("0.00"),
    }
