"""The sales report: net revenue of committed sale lines (stocking orders and cases with rep
inventory) less returns, by rep, facility, product line and month, and the totals. The page and
its CSV exports read the same function, ``sales_report``."""

from __future__ import annotations

from django.db.models.functions import TruncMonth

from accounts.models import User
from consignment.models import Facility
from core.grouping import grouping_sets
from events.models import EventLine, EventType
from inventory.models import ProductLine
from reporting.selectors.scope import ReportFilters, Scope, line_summary
from reporting.selectors.sql import month
from reporting.selectors.stock import rep_name

SALES_DIMENSIONS = {  # each dimension's fields in its rows
    "rep": ("representative_id", "representative__first_name", "representative__last_name",
            "representative__username"),
    "facility": ("facility_id", "facility__name"),
    "product_line": ("product__product_line_id", "product__product_line__name"),
    "month": ("month",),
}

# Net sales: a Return's lines count against sales (where and when the return happened).
NET_SALE_KINDS = (EventLine.Kind.SALE, EventLine.Kind.RETURN)
RETURN, STOCKING, CASE = EventLine.Kind.RETURN, EventType.STOCKING_ORDER, EventType.CASE
# Over partial sums of the summary rows: n (how many lines) and amount (their prices) per kind and
# event type. Returns are negative (credits), in the totals, the page and the CSV alike.
LINE_SUMS = {"n": "SUM(n_lines)", "amount": "SUM(price)"}
SALES_AGGREGATES = {
    "units": ("(COALESCE(SUM(n) FILTER (WHERE kind <> %s), 0)"
              " - COALESCE(SUM(n) FILTER (WHERE kind = %s), 0))::integer", [RETURN, RETURN]),
    "revenue": ("COALESCE(SUM(CASE WHEN kind = %s THEN -amount ELSE amount END), 0.00)",
                [RETURN]),
    "stocking": ("COALESCE(SUM(amount) FILTER (WHERE event_type = %s), 0.00)", [STOCKING]),
    "cases": ("COALESCE(SUM(amount) FILTER (WHERE event_type = %s), 0.00)", [CASE]),
    "returns": ("COALESCE(-SUM(amount) FILTER (WHERE kind = %s), 0.00)", [RETURN]),
}
TOTALS = ("units", "revenue", "returns")


def sales_report(scope: Scope, filters: ReportFilters, dimensions=tuple(SALES_DIMENSIONS)
                 ) -> tuple[dict[str, list[dict]], dict]:
    """Net sales grouped by each of ``dimensions`` (rows with the dimension's fields, ``label``,
    units, stocking, cases, returns — negative — and revenue; months in order, the others by
    revenue, biggest first), and the totals (units, revenue, returns), in one pass over the
    period's line summary (GROUPING SETS). Facility-stock use lines are never sales, so a device
    counts once. A rep sees their own events."""
    qs = (line_summary(scope, filters, own_numbers=True).filter(kind__in=NET_SALE_KINDS)
          .annotate(month=TruncMonth("date")))
    columns = {"rep_id": "representative_id", "facility_id": "facility_id",
               "line_id": "product__product_line_id", "month": "month", "kind": "kind",
               "event_type": "event_type", "n_lines": "lines", "price": "amount"}
    all_sets = {"rep": ("rep_id",), "facility": ("facility_id",), "product_line": ("line_id",),
                "month": ("month",)}
    sets = {dim: all_sets[dim] for dim in dimensions} | {"total": ()}
    labels = {"rep_id": (User, {"rep_first": "first_name", "rep_last": "last_name",
                                "rep_username": "username"}),
              "facility_id": (Facility, {"facility": "name"}),
              "line_id": (ProductLine, {"line": "name"})}
    found = grouping_sets(qs, columns, sets, LINE_SUMS, SALES_AGGREGATES, labels,
                          measures=("n_lines", "price"),
                          organization_id=scope.organization_id)
    aliases = {"rep": ("rep_id", "rep_first", "rep_last", "rep_username"),
               "facility": ("facility_id", "facility"), "product_line": ("line_id", "line"),
               "month": ("month",)}
    groups = {}
    for dim in dimensions:
        fields = SALES_DIMENSIONS[dim]
        rows = []
        for r in found[dim]:
            row = {field: r[alias] for field, alias in zip(fields, aliases[dim], strict=True)}
            row.update({key: r[key] for key in SALES_AGGREGATES})
            if dim == "rep":
                row["label"] = rep_name(row, "representative__")
            elif dim == "month":
                row["month"] = month(row["month"])
                row["label"] = row["month"].strftime("%Y-%m")
            else:
                row["label"] = row[fields[1]]
            rows.append(row)
        if dim == "month":
            rows.sort(key=lambda r: r["month"])
        else:
            rows.sort(key=lambda r, first=fields[0]: (-r["revenue"], r["label"], r[first]))
        groups[dim] = rows
    [total] = found["total"]
    return groups, {key: total[key] for key in TOTALS}


def sales_by(scope: Scope, filters: ReportFilters, dimension: str) -> list[dict]:
    """One dimension of ``sales_report`` (a CSV export): the page's rows."""
    groups, _ = sales_report(scope, filters, dimensions=(dimension,))
    return groups[dimension]


def sales_totals(scope: Scope, filters: ReportFilters) -> dict:
    """``sales_report``'s totals."""
    return sales_report(scope, filters, dimensions=("month",))[1]
