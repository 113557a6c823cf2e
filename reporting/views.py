"""Reports: the Facility Stock Sales dashboard, sales and usage reports, replenishment, swaps.
Reads go through ``reporting.selectors`` (one module per report); each page and its CSV exports
read the same selector per figure, on the read replica when one is configured
(``core.replica.replica_reads``). Reporting writes nothing: the forms on its pages that
write — "Create Stocking Order" and "Swap" — post to ``events.views.replenishment_create`` and
``events.views.swap_create`` (routed under /reports/ to keep their addresses)."""

from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from accounts.decorators import permission_required
from core.exports import Column, csv_download
from core.http import int_ids, query_without
from core.replica import replica_reads
from events.loan_selectors import kits_out
from events.models import Event, EventType
from inventory.models import Product
from recalls.selectors import open_recalls
from reporting import tables
from reporting.filters import report_filters
from reporting.forms import (
    ReplenishmentForm,
)
from reporting.selectors import contracts, sales, stock, usage
from reporting.selectors import replenishment as replenishing
from reporting.selectors.attention import EXPIRING_DAYS, Attention, attention_for
from reporting.selectors.scope import product_lines_for, reps_for, scope_for

DASHBOARD_PREVIEW = 20
TOP_ROWS = 50  # long tables (stock against par, low stock, days of cover) show this many rows


def _filename(name: str, filters) -> str:
    return f"{name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.csv"



# --- 0. Home: what needs attention -------------------------------------------------------------


@dataclass(frozen=True)
class AttentionRow:
    key: str
    label: str
    count: int
    url: str
    hint: str = ""
    tone: str = "primary"  # the badge's Bootstrap colour when the count is not zero


def _attention_rows(user, attention: Attention) -> list[AttentionRow]:
    """The home page's rows for ``user``, most harmful first; a figure that does not apply to
    the role (``None``) has no row."""
    rows = []
    if attention.transfers_to_me is not None:
        hint = ""
        if attention.transfers_in_transit:
            hint = f"{attention.transfers_in_transit} in transit in the organisation"
        rows.append(AttentionRow("transfers", "Transfers waiting for you",
                                 attention.transfers_to_me, reverse("inventory:transfer_list"),
                                 hint, "danger"))
    kits = attention.kits
    late = ", ".join(f"{kit.tag} at {kit.facility}" for kit in kits.overdue_kits[:3])
    rows.append(AttentionRow(
        "kits", "Loaner kits overdue", kits.overdue,
        f"{reverse('events:list')}?event_type=loan&status=on_loan",
        f"{kits.due_today} due back today, {kits.out} out on loan"
        + (f" · overdue: {late}" if late else ""), "danger"))
    drafts_url = f"{reverse('events:list')}?status=draft"
    if user.is_rep:
        rows.append(AttentionRow("drafts", "Your open drafts", attention.drafts, drafts_url,
                                 "Mark the used inventory and submit for billing", "warning"))
    else:
        rows.append(AttentionRow("drafts", "Open drafts", attention.drafts, drafts_url,
                                 "Every rep's drafts in your region" if user.is_regional_manager
                                 else "Every rep's drafts in the organisation", "secondary"))
    po_url = (f"{reverse('billing:queue')}?status=pending_po" if user.can("view_billing")
              else f"{reverse('events:list')}?status=pending_po")
    rows.append(AttentionRow("pending_po", "POs waiting", attention.pending_po, po_url,
                             "Submitted events without a purchase order", "warning"))
    dashboard = reverse("reporting:index")
    where = ("at your facilities" if user.is_rep else
             "in your region" if user.is_regional_manager else "in the organisation")
    rows.append(AttentionRow(
        "expiring", f"Facility stock expiring within {EXPIRING_DAYS} days",
        attention.expiring_stock, f"{dashboard}#expiring-title",
        f"{attention.expired_stock} already expired {where}", "warning"))
    rows.append(AttentionRow("low", "Facility stock below par", attention.low_stock,
                             f"{dashboard}#low-title",
                             f"Facility × product rows under their par level {where}",
                             "danger"))
    return rows


@permission_required("view_inventory")
def home(request):
    """Home: per role, what needs attention (counted, each row a link) and the main pages."""
    attention = attention_for(user=request.user, today=timezone.localdate())
    return render(request, "reporting/home.html", {
        "rows": _attention_rows(request.user, attention),
    })


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
    if request.user.is_rep and overview["low"]:
        # A rep's "Create stocking order" on a low-stock row drafts one for the product's line
        # (an admin's opens Replenishment, where the rep is chosen): the rows shown only.
        lines = dict(Product.objects.filter(pk__in=[r["product_id"] for r in overview["low"]])
                     .values_list("pk", "product_line_id"))
        for row in overview["low"]:
            row["product_line_id"] = lines.get(row["product_id"])
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
        # Units back, facilities acknowledged: organisation-wide, so for those who see recalls.
        "open_recalls": (open_recalls(user=request.user) if request.user.can("view_recalls")
                         else []),
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
    # A rep replenishes from their own stock: the form opens with them chosen.
    form = ReplenishmentForm(data if "facility" in data else None, user=request.user,
                             initial={"cover_days": 30,
                                      "rep": request.user.pk if request.user.is_rep else None})
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
    order = events.filter(event_type=EventType.STOCKING_ORDER).filter(
        pk__in=[ret.swap_order_id] if ret.swap_order_id else int_ids([request.GET.get("order")])
    ).first()
    swap = replenishing.swap_summary(return_event=ret, stocking_order=order)
    return render(request, "reporting/swap_detail.html", {
        "ret": ret, "order": order, **swap,
        "replenish_url": reverse("reporting:replenishment")
        + f"?facility={ret.facility_id}&rep={ret.representative_id}",
    })


# --- contracts: sales by facility and contract, price overrides --------------------------------


CONTRACT_SALES_COLUMNS = [
    Column("Facility", lambda row: row["facility"]),
    Column("Contract", lambda row: row["contract"] or "No contract"),
    Column("Units", lambda row: row["units"]), Column("Amount", lambda row: row["amount"]),
    Column("At list price", lambda row: row["list_amount"]),
    Column("Below list", lambda row: row["discount"]),
    Column("Price overrides", lambda row: row["overrides"]),
]
PRICE_OVERRIDE_COLUMNS = [
    Column("Event", lambda line: line.event.name), Column("Date", lambda line: line.event.date),
    Column("Facility", lambda line: line.event.facility.name),
    Column("Representative", lambda line: str(line.event.representative)),
    Column("Reference", lambda line: line.device.product.reference),
    Column("Device", lambda line: line.device.label),
    Column("List price", lambda line: line.device.product.unit_price),
    Column("Price", lambda line: line.price),
    Column("Reason", lambda line: line.price_override_reason),
    Column("Overridden by", lambda line: str(line.price_overridden_by or "")),
]


@permission_required("view_reports")
def contract_report(request):
    form, filters = report_filters(request)
    scope = scope_for(request.user)
    export = request.GET.get("export")
    if export == "contracts":
        return csv_download(_filename("sales-by-contract", filters), CONTRACT_SALES_COLUMNS,
                            contracts.sales_by_contract(scope, filters))
    if export == "overrides":
        return csv_download(_filename("price-overrides", filters), PRICE_OVERRIDE_COLUMNS,
                            contracts.price_overrides(scope, filters, limit=None).iterator())
    return render(request, "reporting/contract_report.html", {
        "form": form, "filters": filters, "query": query_without(request, "export"),
        "rows": contracts.sales_by_contract(scope, filters),
        "overrides": contracts.price_overrides(scope, filters),
        "override_counts": contracts.price_override_counts(scope, filters),
        "overrides_shown": contracts.OVERRIDES_SHOWN,
    })
