"""The usage report: devices used in submitted cases (rep inventory and facility stock) by
facility, surgeon, product and month, and days of cover per facility and product. The page and
its CSV exports read the same functions (the page its first rows)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth

from consignment.models import Facility
from core.grouping import grouping_sets
from events.models import EventLine, EventType
from inventory.models import Product
from reporting.selectors.scope import USE_WINDOW_DAYS, ReportFilters, Scope, line_summary
from reporting.selectors.sql import NAMED_FIELDS, by_name, fetch, month, named, ranks
from reporting.selectors.stock import stock_sql

USAGE_DIMENSIONS = {  # each dimension's fields in its rows
    "facility": ("facility_id", "facility__name"),
    "surgeon": ("surgeon",),
    "product": ("product_id", "product__reference", "product__description"),
    "month": ("month",),
}
USAGE_AGGREGATES = {
    "units": ("SUM(n)::integer", []),
    "from_facility_stock": ("COALESCE(SUM(n) FILTER (WHERE kind = %s), 0)::integer",
                            [EventLine.Kind.USAGE]),
}


def case_lines(scope: Scope, filters: ReportFilters) -> QuerySet:
    """Devices used in submitted cases (rep inventory and facility stock), as summary rows. A rep
    sees the cases at their facilities."""
    return line_summary(scope, filters, own_numbers=False).filter(event_type=EventType.CASE)


def usage_report(scope: Scope, filters: ReportFilters, *, top_products: int | None = None,
                 dimensions=tuple(USAGE_DIMENSIONS)) -> dict[str, list[dict]]:
    """Devices used grouped by each of ``dimensions`` (rows with the dimension's fields,
    ``label``, units and from_facility_stock; months in order, the others by units, most first),
    the products limited to the first ``top_products`` (None: all), in one pass over the
    period's case-line summary (GROUPING SETS)."""
    qs = case_lines(scope, filters).annotate(month=TruncMonth("date"))
    columns = {"facility_id": "facility_id", "surgeon": "surgeon", "product_id": "product_id",
               "month": "month", "kind": "kind", "n_lines": "lines"}
    all_sets = {"facility": ("facility_id",), "surgeon": ("surgeon",),
                "product": ("product_id",), "month": ("month",)}
    sets = {dim: all_sets[dim] for dim in dimensions}
    labels = {"facility_id": (Facility, {"facility": "name"}),
              "product_id": (Product, {"reference": "reference", "description": "description"})}
    found = grouping_sets(qs, columns, sets, {"n": "SUM(n_lines)"}, USAGE_AGGREGATES, labels,
                          measures=("n_lines",),
                          organization_id=scope.organization_id)
    aliases = {"facility": ("facility_id", "facility"), "surgeon": ("surgeon",),
               "product": ("product_id", "reference", "description"), "month": ("month",)}
    groups = {}
    for dim in dimensions:
        fields = USAGE_DIMENSIONS[dim]
        rows = []
        for r in found[dim]:
            row = {field: r[alias] for field, alias in zip(fields, aliases[dim], strict=True)}
            row.update(units=r["units"], from_facility_stock=r["from_facility_stock"])
            if dim == "month":
                row["month"] = month(row["month"])
                row["label"] = row["month"].strftime("%Y-%m")
            elif dim == "surgeon":
                row["label"] = row["surgeon"] or "(not recorded)"
            elif dim == "product":
                row["label"] = f"{row['product__reference']} – {row['product__description']}"
            else:
                row["label"] = row[fields[1]]
            rows.append(row)
        if dim == "month":
            rows.sort(key=lambda r: r["month"])
        else:
            rows.sort(key=lambda r, last=fields[-1], first=fields[0]: (
                -r["units"], r[last], r[first]))
        groups[dim] = rows[:top_products] if dim == "product" and top_products else rows
    return groups


def usage_by(scope: Scope, filters: ReportFilters, dimension: str) -> list[dict]:
    """One dimension of ``usage_report``, every row (a CSV export)."""
    return usage_report(scope, filters, dimensions=(dimension,))[dimension]


# --- days of cover -----------------------------------------------------------------------------


def _cover(row: dict, window: int) -> dict:
    row["daily_use"] = Decimal(row["used"]) / window
    row["cover_days"] = int(row["on_hand"] * window / row["used"]) if row["used"] else None
    return row


def days_of_cover_overview(scope: Scope, filters: ReportFilters, *, limit: int | None,
                           window: int = USE_WINDOW_DAYS) -> tuple[list[dict], int]:
    """Per facility and product: unexpired facility stock on hand ÷ average daily use over the
    last ``window`` days (uses in submitted cases at that facility, rep inventory included: it is
    the facility's demand); cover is None when nothing was used (no end in sight). The first
    ``limit`` rows (None: all) by facility name and catalogue number, and how many there are.

    The stock rows (``stock_sql``) FULL JOIN the window's uses per facility and product (from the
    line summary), counted and ordered in SQL; as in ``stock_overview``, by the names' ranks,
    the names joined to the rows shown only."""
    stock, stock_params = stock_sql(scope, filters)
    uses = (case_lines(scope, filters.window(window)).order_by()
            .values("facility_id", "product_id").annotate(used=Sum("lines")))
    uses_sql, uses_params = uses.query.sql_with_params()
    rank_sql, rank_params = ranks(scope.organization_id)
    rows = (
        f"WITH {rank_sql}, fs_cover AS ("
        "SELECT COALESCE(s.facility_id, u.facility_id) AS facility_id, "
        "COALESCE(s.product_id, u.product_id) AS product_id, s.par, "
        "COALESCE(s.on_hand, 0) AS on_hand, COALESCE(u.used, 0) AS used "
        f"FROM ({stock}) AS s "
        f"FULL JOIN ({uses_sql}) AS u (facility_id, product_id, used) "
        "ON u.facility_id = s.facility_id AND u.product_id = s.product_id) "
    )
    first = (
        "SELECT fs_cover.*, (SELECT COUNT(*) FROM fs_cover) AS n FROM fs_cover "
        "JOIN fs_fr ON fs_fr.id = fs_cover.facility_id "
        "JOIN fs_pr ON fs_pr.id = fs_cover.product_id "
        "ORDER BY fs_fr.r, fs_pr.r, fs_cover.facility_id, fs_cover.product_id LIMIT %s"
    )
    fetched = sorted(fetch(f"{rows}SELECT {', '.join(NAMED_FIELDS)}, par, on_hand, used, n "
                           f"FROM ({named(first)}) AS fs_first",
                           [*rank_params, *stock_params, *uses_params, limit]), key=by_name)
    count = fetched[0]["n"] if fetched else 0
    result = []
    for r in fetched:
        del r["n"]
        r["shortfall"] = max(r["par"] - r["on_hand"], 0) if r["par"] is not None else 0
        result.append(_cover(r, window))
    return result, count


def days_of_cover(scope: Scope, filters: ReportFilters, *, window: int = USE_WINDOW_DAYS
                  ) -> list[dict]:
    """Every row of ``days_of_cover_overview`` (the CSV export, replenishment)."""
    return days_of_cover_overview(scope, filters, limit=None, window=window)[0]
