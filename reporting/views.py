"""Reports: the Facility Stock Sales dashboard, sales and usage reports, replenishment, swaps.
Reads go through ``reporting.selectors`` (one module per report); each page and its CSV exports
read the same selector per figure, on the read replica when one is configured
(``core.replica.replica_reads``). Reporting writes nothing: the forms on its pages that
write — "Create Stocking Order" and "Swap" — post to ``events.views.replenishment_create`` and
``events.views.swap_create`` (routed under /reports/ to keep their addresses)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from accounts.decorators import permission_required
from core.exports import csv_download
from core.http import int_ids, query_without
from core.replica import replica_reads
from events.loan_selectors import kits_out
from events.models import Event, EventType
from reporting import tables
from reporting.filters import report_filters
from reporting.forms import (
    ReplenishmentForm,
)
from reporting.selectors import replenishment as replenishing
from reporting.selectors import sales, stock, usage
from reporting.selectors.scope import product_lines_for, reps_for, scope_for

DASHBOARD_PREVIEW = 20
TOP_ROWS = 50  # long tables (stock against par, low stock, days of cover) show this many rows


def _filename(name: str, filters) -> str:
    return f"{name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.csv"



# --- 1. Facility Stock Sales dashboard ---------------------------------------------------------


@permission_required("view_reports")
@replica_reads
def index(request):
    """The Facility Stock Sales dashboard (Reports → Sales)."""
    form, filters = report_filters(request)
    scope = scope_for(request.user)
    export = request.GET.get("export")

    if export in ("stock", "low"):
        return csv_download(_filename(f"facility-stock-{export}", filters),
                            tables.STOCK_COLUMNS,
                            stock.stock_overview(scope, filters, limit=None)[export])
    if export == "expiring":
        return csv_download(_filename("facility-stock-expiring", filters),
                            tables.EXPIRING_COLUMNS, stock.expiring_stock(scope, filters))
    if export == "monthly":
        return csv_download(_filename("stocking-sales-vs-use", filters),
                            tables.MONTHLY_COLUMNS, stock.sales_vs_use_by_month(scope, filters))
    if export == "where_used":
        return csv_download(_filename("facility-stock-where-used", filters),
                            tables.WHERE_USED_COLUMNS,
                            stock.where_used(scope, filters).iterator())
    if export == "commissions":
        return csv_download(_filename("facility-stock-commissions", filters),
                            tables.COMMISSION_COLUMNS,
                            stock.facility_stock_commissions(scope, filters))

    overview = stock.stock_overview(scope, filters, limit=TOP_ROWS)
    buckets, bucket_counts = stock.expiring_preview(scope, filters,
                                                    per_bucket=DASHBOARD_PREVIEW)
    monthly = stock.sales_vs_use_by_month(scope, filters)
    where_used = stock.where_used_preview(scope, filters, limit=DASHBOARD_PREVIEW + 1)
    commission_rows = stock.facility_stock_commissions(scope, filters)
    chart = {
        "labels": [m["month"].strftime("%b %Y") for m in monthly],
        "datasets": [
            {"label": "Sold by stocking orders", "data": [m["sold_units"] for m in monthly]},
            {"label": "Recorded use", "data": [m["used_units"] for m in monthly],
             "type": "line"},
        ],
    }
    context = {
        "form": form,
        "filters": filters,
        "query": query_without(request, "export"),
        # The first TOP_ROWS rows of each long table, with the count; the CSV has them all.
        **overview,  # stock, stock_count, stock_on_hand, low, low_count
        "top_rows": TOP_ROWS,
        "expiry_groups": [
            {"key": key, "title": title, "count": bucket_counts.get(key, 0),
             "devices": buckets.get(key, [])[:DASHBOARD_PREVIEW],
             "more": max(bucket_counts.get(key, 0) - DASHBOARD_PREVIEW, 0)}
            for key, title in stock.EXPIRY_BUCKETS
        ],
        "can_swap": request.user.can_write,
        "swap_reps": list(reps_for(request.user)) if request.user.is_admin
        else [],
        "monthly": monthly,
        "chart": chart,
        "where_used": where_used[:DASHBOARD_PREVIEW],
        "where_used_more": len(where_used) > DASHBOARD_PREVIEW,
        "commissions": commission_rows,
        "preview": DASHBOARD_PREVIEW,
        "kits_out": kits_out(user=request.user),  # loaned kits: out, overdue, due today
    }
    return render(request, "reporting/facility_stock_dashboard.html", context)


# --- 2. sales report ---------------------------------------------------------------------------


SALES_TITLES = {"rep": "By rep", "facility": "By facility", "product_line": "By product line",
                "month": "By month"}


@permission_required("view_reports")
@replica_reads
def sales_report(request):
    form, filters = report_filters(request)
    scope = scope_for(request.user)
    export = request.GET.get("export")
    if export in SALES_TITLES:
        return csv_download(_filename(f"sales-by-{export}", filters), tables.SALES_COLUMNS,
                            sales.sales_by(scope, filters, export))
    groups, totals = sales.sales_report(scope, filters)  # every dimension in one pass
    chart = {
        "labels": [r["label"] for r in groups["month"]],
        "datasets": [
            {"label": "Stocking orders", "data": [float(r["stocking"]) for r in groups["month"]]},
            {"label": "Cases (rep inventory)", "data": [float(r["cases"])
                                                        for r in groups["month"]]},
        ],
        "stacked": True,
    }
    return render(request, "reporting/sales_report.html", {
        "form": form, "filters": filters, "query": query_without(request, "export"),
        "groups": [(dim, SALES_TITLES[dim], groups[dim]) for dim in SALES_TITLES],
        "totals": totals, "chart": chart,
    })


# --- 3. usage report ---------------------------------------------------------------------------


USAGE_TITLES = {"facility": "By facility", "surgeon": "By surgeon",
                "product": "Top products", "month": "By month"}
TOP_PRODUCTS = 10


@permission_required("view_reports")
@replica_reads
def usage_report(request):
    form, filters = report_filters(request)
    scope = scope_for(request.user)
    export = request.GET.get("export")
    if export in USAGE_TITLES:
        return csv_download(_filename(f"usage-by-{export}", filters), tables.USAGE_COLUMNS,
                            usage.usage_by(scope, filters, export))
    if export == "cover":
        return csv_download(_filename("days-of-cover", filters), tables.COVER_COLUMNS,
                            usage.days_of_cover(scope, filters))
    groups = usage.usage_report(scope, filters, top_products=TOP_PRODUCTS)  # one pass
    chart = {
        "labels": [r["label"] for r in groups["month"]],
        "datasets": [
            {"label": "Devices used", "data": [r["units"] for r in groups["month"]]},
            {"label": "of which facility stock",
             "data": [r["from_facility_stock"] for r in groups["month"]], "type": "line"},
        ],
    }
    cover, cover_count = usage.days_of_cover_overview(scope, filters, limit=TOP_ROWS)
    return render(request, "reporting/usage_report.html", {
        "form": form, "filters": filters, "query": query_without(request, "export"),
        "groups": [(dim, USAGE_TITLES[dim], groups[dim]) for dim in USAGE_TITLES],
        "cover": cover, "cover_count": cover_count, "top_rows": TOP_ROWS,
        "chart": chart,
    })


# --- 4. replenishment --------------------------------------------------------------------------


@permission_required("view_reports")
@replica_reads
def replenishment(request):
    data = request.GET.copy()
    data.setdefault("cover_days", "30")
    if request.user.is_rep:
        data.setdefault("rep", str(request.user.pk))
    form = ReplenishmentForm(data if "facility" in data else None, user=request.user,
                             initial={"cover_days": 30})
    groups = []
    if form.is_bound and form.is_valid():
        facility, rep = form.cleaned_data["facility"], form.cleaned_data["rep"]
        rows = replenishing.replenishment_rows(
            scope_for(request.user), facility_id=facility.pk,
            cover_target=form.cleaned_data["cover_days"], today=timezone.localdate(),
            rep_id=rep.pk if rep else None,
        )
        lines = product_lines_for(request.user).filter(
            name__in={r["product_line"] for r in rows}
        ).order_by("name")
        for line in lines:
            groups.append({"line": line, "rows": [r for r in rows
                                                  if r["product_line"] == line.name]})
    return render(request, "reporting/replenishment_detail.html", {
        "form": form, "groups": groups, "can_create": request.user.can_write,
    })


# --- Swap expiring facility stock (issue 15): the write is events.views.swap_create ------------


@permission_required("view_reports")
def swap_detail(request, pk: int):
    """The two drafts of a swap side by side, and the shortfalls (which feed replenishment)."""
    events = Event.objects.for_user(request.user).select_related("facility", "representative")
    ret = get_object_or_404(events.filter(event_type=EventType.RETURN), pk=pk)
    order = events.filter(event_type=EventType.STOCKING_ORDER,
                          pk__in=int_ids([request.GET.get("order")])).first()
    swap = replenishing.swap_summary(return_event=ret, stocking_order=order)
    return render(request, "reporting/swap_detail.html", {
        "ret": ret, "order": order, **swap,
        "replenish_url": reverse("reporting:replenishment")
        + f"?facility={ret.facility_id}&rep={ret.representative_id}",
    })
