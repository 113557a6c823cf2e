"""Reports: read-only queries, one module per report. Every figure is aggregated in PostgreSQL
(GROUPING SETS, window functions, FILTER); Python only merges and sorts a few aggregated rows.
Each page and its CSV export read the same function per figure.

- ``scope``: who sees what (assignments, a rep's own numbers) and the filters;
- ``stock``: the Facility Stock Sales dashboard (stock against par, low and expiring stock,
  sales vs use, where used, commissions from facility stock) and the stock alerts;
- ``sales``: the sales report; ``usage``: the usage report and days of cover;
- ``replenishment``: replenishment and swaps; ``sql``: the SQL they share.

The names below are re-exported for the views, forms and commands.
"""

from reporting.selectors.replenishment import (
    replenishment_devices,
    replenishment_rows,
    swap_summary,
)
from reporting.selectors.sales import SALES_DIMENSIONS, sales_by, sales_report, sales_totals
from reporting.selectors.scope import (
    USE_WINDOW_DAYS,
    ReportFilters,
    Scope,
    default_period,
    facilities_in_scope,
    product_lines_for,
    reps_for,
    scope_for,
)
from reporting.selectors.stock import (
    EXPIRY_BUCKETS,
    expiring_by_bucket,
    expiring_preview,
    expiring_stock,
    facility_stock_commissions,
    low_stock,
    rep_name,
    sales_vs_use_by_month,
    stock_against_par,
    stock_alerts,
    stock_overview,
    where_used,
    where_used_preview,
)
from reporting.selectors.usage import (
    USAGE_DIMENSIONS,
    days_of_cover,
    days_of_cover_overview,
    usage_by,
    usage_report,
)

__all__ = [
    "EXPIRY_BUCKETS", "SALES_DIMENSIONS", "USAGE_DIMENSIONS", "USE_WINDOW_DAYS",
    "ReportFilters", "Scope", "days_of_cover", "days_of_cover_overview", "default_period",
    "expiring_by_bucket", "expiring_preview", "expiring_stock", "facilities_in_scope",
    "facility_stock_commissions", "low_stock", "product_lines_for", "rep_name",
    "replenishment_devices", "replenishment_rows", "reps_for", "sales_by", "sales_report",
    "sales_totals", "sales_vs_use_by_month", "scope_for", "stock_against_par", "stock_alerts",
    "stock_overview", "swap_summary", "usage_by", "usage_report", "where_used",
    "where_used_preview",
]
