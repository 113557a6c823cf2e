"""The stock and cover tables worked out again with the ORM and Python, independently of the SQL
the reports run (``reporting.selectors.stock.stock_overview``, ``usage.days_of_cover_overview``):
the tests compare the two on the same data."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from consignment.models import ParLevel
from reporting.selectors.scope import (
    USE_WINDOW_DAYS,
    ReportFilters,
    Scope,
    facility_stock,
    par_levels,
)
from reporting.selectors.usage import case_lines

PRODUCT_VALUES = ("facility_id", "facility__name", "product_id", "product__reference",
                  "product__description", "product__product_line__name")


def _row(values: dict, *, par, on_hand: int) -> dict:
    return {
        "facility_id": values["facility_id"], "facility": values["facility__name"],
        "product_id": values["product_id"], "reference": values["product__reference"],
        "description": values["product__description"],
        "product_line": values["product__product_line__name"],
        "par": par, "on_hand": on_hand,
        "shortfall": max(par - on_hand, 0) if par is not None else 0,
    }


def by_name(row: dict) -> tuple:
    return row["facility"], row["reference"], row["facility_id"], row["product_id"]


def stock_against_par(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Unexpired facility stock per facility and product against its par level."""
    usable = facility_stock(scope, filters).filter(expiration_date__gte=filters.today)
    on_hand = (
        usable.filter(facility_id=OuterRef("facility_id"), product_id=OuterRef("product_id"))
        .order_by().values("facility_id").annotate(n=Count("pk")).values("n")
    )
    with_par = (par_levels(scope, filters)
                .annotate(on_hand=Coalesce(Subquery(on_hand, output_field=IntegerField()), 0))
                .values(*PRODUCT_VALUES, "minimum", "on_hand"))
    rows = [_row(r, par=r["minimum"], on_hand=r["on_hand"]) for r in with_par]
    has_par = ParLevel.objects.filter(facility_id=OuterRef("facility_id"),
                                      product_id=OuterRef("product_id"))
    for r in (usable.filter(~Exists(has_par)).order_by().values(*PRODUCT_VALUES)
              .annotate(on_hand=Count("*"))):
        rows.append(_row(r, par=None, on_hand=r["on_hand"]))
    return sorted(rows, key=by_name)


def low_stock(rows: list[dict]) -> list[dict]:
    """Rows below par, the biggest shortfall first."""
    low = [r for r in rows if r["par"] is not None and r["on_hand"] < r["par"]]
    return sorted(low, key=lambda r: (-r["shortfall"], *by_name(r)))


def days_of_cover(scope: Scope, filters: ReportFilters, *, window: int = USE_WINDOW_DAYS):
    rows = {(r["facility_id"], r["product_id"]): {**r, "used": 0}
            for r in stock_against_par(scope, filters)}
    uses = (case_lines(scope, filters.window(window)).order_by()
            .values("facility_id", "product_id")
            .annotate(used=Sum("lines"), facility__name=Min("facility__name"),
                      product__reference=Min("product__reference"),
                      product__description=Min("product__description"),
                      product__product_line__name=Min("product__product_line__name")))
    for u in uses:
        key = (u["facility_id"], u["product_id"])
        row = rows.get(key)
        if row is None:
            row = rows[key] = _row(u, par=None, on_hand=0)
        row["used"] = u["used"]
    result = []
    for row in rows.values():
        row["daily_use"] = Decimal(row["used"]) / window
        row["cover_days"] = (int(row["on_hand"] * window / row["used"]) if row["used"]
                             else None)
        result.append(row)
    return sorted(result, key=by_name)
