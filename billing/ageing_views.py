"""The Pending PO ageing page and its CSV (admins and managers): submitted sales waiting for the
facility's PO, by facility and rep, days since the case and amount; sortable, filterable."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import permission_required
from billing.ageing import (
    DEFAULT_SORT,
    SORTS,
    days_since,
    pending_po_events,
    pending_po_groups,
    pending_po_summary,
    reminder_days,
)
from billing.forms import BillingQueueFilterForm
from core.exports import Column, csv_download, field

PAGE_SIZE = 50


def _filters(request):
    form = BillingQueueFilterForm(request.GET or None, user=request.user)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {k: form.cleaned_data[k] for k in ("facility", "rep") if form.cleaned_data[k]}
    sort = request.GET.get("sort", DEFAULT_SORT)
    return form, filters, sort if sort in SORTS else DEFAULT_SORT


@permission_required("view_billing")
def pending_po(request):
    today = timezone.localdate()
    form, filters, sort = _filters(request)
    page = Paginator(
        pending_po_events(user=request.user, sort=sort, today=today, **filters), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for event in page:
        event.days = days_since(event, today)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    groups = pending_po_groups(user=request.user, today=today)
    return render(
        request,
        "billing/pending_po.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "querystring": query.urlencode(),
            "pager_query": "&".join(filter(None, [f"sort={sort}", query.urlencode()])),
            "summary": pending_po_summary(user=request.user, today=today,
                                          groups=groups["facility"]),
            "by_facility": groups["facility"],
            "by_rep": groups["rep"],
            "reminder_days": reminder_days(),
        },
    )


PENDING_PO_COLUMNS = [
    Column("Event", field("name")),
    Column("Date", field("date")),
    Column("Days since case", lambda event: days_since(event)),
    Column("Facility", field("facility.name")),
    Column("Representative", lambda event: str(event.representative)),
    Column("Sales order", lambda event: event.sales_order.number),
    Column("Amount", field("amount")),
]


@permission_required("view_billing")
def pending_po_export(request):
    _, filters, sort = _filters(request)
    rows = pending_po_events(user=request.user, sort=sort, **filters).iterator(chunk_size=500)
    return csv_download("pending-po.csv", PENDING_PO_COLUMNS, rows)
