"""Turning a report's query string into ``ReportFilters`` (defaults: the last twelve months)."""

from __future__ import annotations

from django.utils import timezone

from reporting.forms import ReportFilterForm
from reporting.selectors.scope import ReportFilters, default_period


def report_filters(request, today=None) -> tuple[ReportFilterForm, ReportFilters]:
    """The bound filter form and the filters it yields; invalid input falls back to defaults
    (the form shows its errors)."""
    today = today or timezone.localdate()
    date_from, date_to = default_period(today)
    data = request.GET.copy()
    data.setdefault("date_from", date_from.isoformat())
    data.setdefault("date_to", date_to.isoformat())
    form = ReportFilterForm(data, user=request.user)
    if not form.is_valid():
        return form, ReportFilters(date_from=date_from, date_to=date_to, today=today)
    d = form.cleaned_data
    return form, ReportFilters(
        date_from=d["date_from"], date_to=d["date_to"], today=today,
        facility_id=d["facility"].pk if d["facility"] else None,
        product_line_id=d["product_line"].pk if d["product_line"] else None,
    )
