"""Reports: the Facility Stock Sales dashboard, sales and usage reports, replenishment and
commissions. Reads go through ``reporting.selectors``; the only writes are the commission services
(``events.commissions``), "Create Stocking Order" and "Swap" (``events.services``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import admin_required, member_required, role_required, writer_required
from events import commissions
from events.models import CommissionPlan, Event, EventType
from events.services import event_add_devices, event_create, swap_expiring_create
from inventory.models import Device
from reporting import selectors, tables
from reporting.filters import report_filters
from reporting.forms import (
    CommissionPlanForm,
    CreateStockingOrderForm,
    ReplenishmentForm,
    StatementForm,
)
from reporting.pdf import render_pdf

DASHBOARD_PREVIEW = 20
TOP_ROWS = 50  # long tables (stock against par, low stock, days of cover) show this many rows


def _filename(name: str, filters) -> str:
    return f"{name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.csv"


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


# --- 1. Facility Stock Sales dashboard ---------------------------------------------------------


@member_required
def index(request):
    """The Facility Stock Sales dashboard (Reports → Sales)."""
    form, filters = report_filters(request)
    scope = selectors.scope_for(request.user)
    export = request.GET.get("export")

    if export in ("stock", "low"):
        rows = selectors.stock_against_par(scope, filters)
        if export == "low":
            rows = selectors.low_stock(rows)
        return tables.csv_response(_filename(f"facility-stock-{export}", filters),
                                   tables.STOCK_COLUMNS, rows)
    if export == "expiring":
        return tables.csv_response(_filename("facility-stock-expiring", filters),
                                   tables.EXPIRING_COLUMNS,
                                   selectors.expiring_stock(scope, filters))
    if export == "monthly":
        return tables.csv_response(_filename("stocking-sales-vs-use", filters),
                                   tables.MONTHLY_COLUMNS,
                                   selectors.sales_vs_use_by_month(scope, filters))
    if export == "where_used":
        return tables.csv_response(_filename("facility-stock-where-used", filters),
                                   tables.WHERE_USED_COLUMNS,
                                   selectors.where_used(scope, filters).iterator())
    if export == "commissions":
        rows = selectors.facility_stock_commissions(scope, filters)
        for row in rows:
            row["rep"] = selectors.rep_name(row)
        return tables.csv_response(_filename("facility-stock-commissions", filters),
                                   tables.COMMISSION_COLUMNS, rows)

    stock = selectors.stock_against_par(scope, filters)
    low = selectors.low_stock(stock)
    buckets, bucket_counts = selectors.expiring_preview(scope, filters,
                                                        per_bucket=DASHBOARD_PREVIEW)
    monthly = selectors.sales_vs_use_by_month(scope, filters)
    where_used = selectors.where_used_preview(scope, filters, limit=DASHBOARD_PREVIEW + 1)
    commission_rows = selectors.facility_stock_commissions(scope, filters)
    for row in commission_rows:
        row["rep"] = selectors.rep_name(row)
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
        "query": _query_without(request, "export"),
        # The first TOP_ROWS rows of each long table, with the count; the CSV has them all.
        "stock": stock[:TOP_ROWS], "stock_count": len(stock),
        "stock_on_hand": sum(r["on_hand"] for r in stock),
        "low": low[:TOP_ROWS], "low_count": len(low),
        "top_rows": TOP_ROWS,
        "expiry_groups": [
            {"key": key, "title": title, "count": bucket_counts.get(key, 0),
             "devices": buckets.get(key, [])[:DASHBOARD_PREVIEW],
             "more": max(bucket_counts.get(key, 0) - DASHBOARD_PREVIEW, 0)}
            for key, title in selectors.EXPIRY_BUCKETS
        ],
        "can_swap": request.user.can_write,
        "swap_reps": list(selectors.reps_for(request.user)) if request.user.role == "admin"
        else [],
        "monthly": monthly,
        "chart": chart,
        "where_used": where_used[:DASHBOARD_PREVIEW],
        "where_used_more": len(where_used) > DASHBOARD_PREVIEW,
        "commissions": commission_rows,
        "preview": DASHBOARD_PREVIEW,
    }
    return render(request, "reporting/facility_stock_dashboard.html", context)


# --- 2. sales report ---------------------------------------------------------------------------


SALES_TITLES = {"rep": "By rep", "facility": "By facility", "product_line": "By product line",
                "month": "By month"}


@member_required
def sales_report(request):
    form, filters = report_filters(request)
    scope = selectors.scope_for(request.user)
    export = request.GET.get("export")
    if export in SALES_TITLES:
        return tables.csv_response(_filename(f"sales-by-{export}", filters), tables.SALES_COLUMNS,
                                   selectors.sales_by(scope, filters, export))
    groups, totals = selectors.sales_report(scope, filters)  # every dimension in one pass
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
        "form": form, "filters": filters, "query": _query_without(request, "export"),
        "groups": [(dim, SALES_TITLES[dim], groups[dim]) for dim in SALES_TITLES],
        "totals": totals, "chart": chart,
    })


# --- 3. usage report ---------------------------------------------------------------------------


USAGE_TITLES = {"facility": "By facility", "surgeon": "By surgeon",
                "product": "Top products", "month": "By month"}
TOP_PRODUCTS = 10


@member_required
def usage_report(request):
    form, filters = report_filters(request)
    scope = selectors.scope_for(request.user)
    export = request.GET.get("export")
    if export in USAGE_TITLES:
        return tables.csv_response(_filename(f"usage-by-{export}", filters), tables.USAGE_COLUMNS,
                                   selectors.usage_by(scope, filters, export))
    if export == "cover":
        return tables.csv_response(_filename("days-of-cover", filters), tables.COVER_COLUMNS,
                                   selectors.days_of_cover(scope, filters))
    groups = selectors.usage_report(scope, filters, top_products=TOP_PRODUCTS)  # one pass
    chart = {
        "labels": [r["label"] for r in groups["month"]],
        "datasets": [
            {"label": "Devices used", "data": [r["units"] for r in groups["month"]]},
            {"label": "of which facility stock",
             "data": [r["from_facility_stock"] for r in groups["month"]], "type": "line"},
        ],
    }
    cover = selectors.days_of_cover(scope, filters)
    return render(request, "reporting/usage_report.html", {
        "form": form, "filters": filters, "query": _query_without(request, "export"),
        "groups": [(dim, USAGE_TITLES[dim], groups[dim]) for dim in USAGE_TITLES],
        "cover": cover[:TOP_ROWS], "cover_count": len(cover), "top_rows": TOP_ROWS,
        "chart": chart,
    })


# --- 4. replenishment --------------------------------------------------------------------------


@member_required
def replenishment(request):
    data = request.GET.copy()
    data.setdefault("cover_days", "30")
    if request.user.role == "rep":
        data.setdefault("rep", str(request.user.pk))
    form = ReplenishmentForm(data if "facility" in data else None, user=request.user,
                             initial={"cover_days": 30})
    groups = []
    if form.is_bound and form.is_valid():
        facility, rep = form.cleaned_data["facility"], form.cleaned_data["rep"]
        rows = selectors.replenishment_rows(
            selectors.scope_for(request.user), facility_id=facility.pk,
            cover_target=form.cleaned_data["cover_days"], today=timezone.localdate(),
            rep_id=rep.pk if rep else None,
        )
        lines = selectors.product_lines_for(request.user).filter(
            name__in={r["product_line"] for r in rows}
        ).order_by("name")
        for line in lines:
            groups.append({"line": line, "rows": [r for r in rows
                                                  if r["product_line"] == line.name]})
    return render(request, "reporting/replenishment_detail.html", {
        "form": form, "groups": groups, "can_create": request.user.can_write,
    })


def _event_url(event) -> str:
    try:
        return reverse("events:detail", args=[event.pk])
    except NoReverseMatch:
        return reverse("events:list")


@require_POST
@writer_required
def replenishment_create(request):
    """"Create Stocking Order": a draft for the facility, prefilled through the event services
    with the rep's available devices, soonest expiry first."""
    form = CreateStockingOrderForm(request.POST, user=request.user)
    back = reverse("reporting:replenishment")
    if not form.is_valid():
        messages.error(request, "Choose a facility, a rep and a product line.")
        return redirect(back)
    facility = form.cleaned_data["facility"]
    rep = form.cleaned_data["rep"]
    line = form.cleaned_data["product_line"]
    back += f"?facility={facility.pk}&rep={rep.pk}"
    today = timezone.localdate()
    quantities = form.quantities()
    devices = selectors.replenishment_devices(
        organization_id=request.user.organization_id, rep_id=rep.pk,
        product_ids=list(quantities), today=today,
    ).filter(product__product_line=line)
    picked, missing = selectors.pick_devices(devices, quantities)
    if not picked:
        messages.error(request, f"{rep} has no available devices for these products: "
                                "transfer some first.")
        return redirect(back)
    try:
        with transaction.atomic():
            event = event_create(
                actor=request.user, event_type=EventType.STOCKING_ORDER,
                name=f"Replenishment – {facility.name}", date=today, facility=facility,
                representative=rep, manufacturer=line.manufacturer, product_line=line,
            )
            event_add_devices(actor=request.user, event=event, devices=picked, today=today)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(request, f"Draft stocking order created with {len(picked)} devices.")
    if missing:
        messages.warning(
            request, f"{sum(missing.values())} of the suggested devices are not in {rep}'s "
                     "available inventory and were left out.",
        )
    return redirect(_event_url(event))


# --- 5. commissions ----------------------------------------------------------------------------


@role_required("admin", "manager")
def commission_plans(request):
    form = None
    if request.user.role == "admin":
        form = CommissionPlanForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                commissions.commission_plan_create(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Commission plan saved.")
                return redirect("reporting:commission_plans")
    elif request.method == "POST":
        return HttpResponse(status=403)
    return render(request, "reporting/commissionplan_list.html", {
        "plans": selectors.commission_plans(request.user), "form": form,
    })


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@admin_required
def commission_plan_edit(request, pk: int):
    plan = get_object_or_404(CommissionPlan.objects.for_user(request.user), pk=pk)
    form = CommissionPlanForm(request.POST or None, user=request.user, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            commissions.commission_plan_update(actor=request.user, plan=plan,
                                               **form.service_kwargs())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Commission plan saved.")
            return redirect("reporting:commission_plans")
    return render(request, "reporting/commissionplan_form.html", {"form": form, "plan": plan})


@require_POST
@admin_required
def commission_plan_delete(request, pk: int):
    plan = get_object_or_404(CommissionPlan.objects.for_user(request.user), pk=pk)
    commissions.commission_plan_delete(actor=request.user, plan=plan)
    messages.success(request, "Commission plan deleted.")
    return redirect("reporting:commission_plans")


def _statement_form(request):
    today = timezone.localdate()
    data = request.GET.copy() if request.method == "GET" else request.POST.copy()
    data.setdefault("date_from", today.replace(day=1).isoformat())
    data.setdefault("date_to", today.isoformat())
    if request.user.role == "rep":
        data["rep"] = str(request.user.pk)
    elif not data.get("rep"):
        # Show a statement straight away (the current month of the first rep), not a blank page.
        first = selectors.reps_for(request.user).values_list("pk", flat=True).first()
        if first is not None:
            data["rep"] = str(first)
    return StatementForm(data, user=request.user)


STATEMENT_PAGE = 100


@member_required
def commission_statement(request):
    """A rep's commission statement for a period: page, CSV (?format=csv) or PDF (?format=pdf)."""
    form = _statement_form(request)
    context = {"form": form, "query": _query_without(request, "format")}
    if form.is_valid():
        rep = form.cleaned_data["rep"]
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        credits = selectors.statement_credits(request.user, rep_id=rep.pk, date_from=date_from,
                                              date_to=date_to)
        name = f"commission-{rep.username}-{date_from:%Y%m%d}-{date_to:%Y%m%d}"
        fmt = request.GET.get("format")
        if fmt == "csv":
            return tables.csv_response(f"{name}.csv", tables.STATEMENT_COLUMNS,
                                       credits.iterator())
        context.update(rep=rep, date_from=date_from, date_to=date_to,
                       totals=selectors.statement_totals(credits),
                       organization=request.user.organization,
                       currency=request.user.organization.currency,
                       pending_clawbacks=list(selectors.pending_clawbacks(request.user,
                                                                          rep_id=rep.pk)))
        if fmt != "pdf":
            # The page shows STATEMENT_PAGE credits at a time; totals cover the whole period,
            # the CSV and PDF every credit.
            paginator = Paginator(credits, STATEMENT_PAGE)
            paginator.count = context["totals"]["count"]  # counted with the totals already
            page = paginator.get_page(request.GET.get("page"))
            context.update(credits=page.object_list, page=page,
                           page_query=_query_without(request, "format", "page"))
        else:
            context["credits"] = list(credits)
        if fmt == "pdf":
            pdf = render_pdf(render_to_string("reporting/commission_statement_pdf.html", context))
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
            return response
    return render(request, "reporting/commission_statement.html", context)


@require_POST
@admin_required
def commission_mark_paid(request):
    form = _statement_form(request)
    if form.is_valid():
        rep = form.cleaned_data["rep"]
        try:
            count = commissions.commission_credits_mark_paid(
                actor=request.user, rep=rep, date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{count} credits of {rep} marked paid.")
    else:
        messages.error(request, "Choose a rep and a period.")
    query = {k: request.POST.get(k, "") for k in ("rep", "date_from", "date_to")}
    return redirect(reverse("reporting:commission_statement") + "?" + urlencode(query))


# --- Swap expiring facility stock (issue 15) -----------------------------------------------------


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids


@require_POST
@writer_required
def swap_create(request):
    """"Swap" on the dashboard's expiring list: a draft Return of the ticked units and a draft
    Stocking Order of the same products from the rep's custody, longest dating first."""
    back = reverse("reporting:index")
    devices = list(Device.objects.for_user(request.user).filter(
        pk__in=_ids(request.POST.getlist("device"))
    ))
    rep = None
    if request.user.role == "admin" and request.POST.get("rep"):
        rep = selectors.reps_for(request.user).filter(pk__in=_ids([request.POST["rep"]])).first()
    try:
        swap = swap_expiring_create(actor=request.user, devices=devices, representative=rep)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(back)
    messages.success(request, "Swap prepared: review the draft return and the draft stocking "
                              "order, then submit each.")
    url = reverse("reporting:swap_detail", args=[swap.return_event.pk])
    if swap.stocking_order is not None:
        url += f"?order={swap.stocking_order.pk}"
    return redirect(url)


@member_required
def swap_detail(request, pk: int):
    """The two drafts of a swap side by side, and the shortfalls (which feed replenishment)."""
    events = Event.objects.for_user(request.user).select_related("facility", "representative")
    ret = get_object_or_404(events.filter(event_type=EventType.RETURN), pk=pk)
    order = events.filter(event_type=EventType.STOCKING_ORDER,
                          pk__in=_ids([request.GET.get("order")])).first()
    swap = selectors.swap_summary(return_event=ret, stocking_order=order)
    return render(request, "reporting/swap_detail.html", {
        "ret": ret, "order": order, **swap,
        "replenish_url": reverse("reporting:replenishment")
        + f"?facility={ret.facility_id}&rep={ret.representative_id}",
    })
