"""Pending PO ageing: submitted sales waiting for the facility's purchase order. Read-only.

A billable event waits for its PO from Submit For Billing (status Pending PO) until the PO is
recorded; its age is counted in days since the case (the event's date), its amount is its sales
order's total. The list, its CSV export, the dashboard's figure (total waiting and the oldest)
and the reminder emails (``manage.py send_po_reminders``) read these functions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Min, Sum
from django.utils import timezone

from accounts.models import User
from events.models import Event, EventStatus

SORTS = {
    "days": ("date", "id"),  # the oldest case first
    "-days": ("-date", "-id"),
    "amount": ("sales_order__total", "id"),
    "-amount": ("-sales_order__total", "-id"),
    "facility": ("facility__name", "date", "id"),
    "-facility": ("-facility__name", "date", "id"),
    "rep": ("representative__last_name", "representative__first_name", "date", "id"),
    "-rep": ("-representative__last_name", "-representative__first_name", "date", "id"),
}
DEFAULT_SORT = "days"


def reminder_days() -> int:
    """POs older than this many days are in the reminder emails (``PENDING_PO_REMINDER_DAYS``)."""
    return int(getattr(settings, "PENDING_PO_REMINDER_DAYS", 14))


def pending_po_events(
    *,
    user: User | None = None,
    organization_id: int | None = None,
    sort: str = DEFAULT_SORT,
    facility=None,
    rep=None,
    older_than: int | None = None,
    today: datetime.date | None = None,
):
    """The events waiting for a PO that ``user`` may see (or all of an organisation's), each
    with ``amount`` (its sales order's total); sorted by ``sort`` (a key of ``SORTS``)."""
    today = today or timezone.localdate()
    qs = (
        Event.objects.for_user(user)
        if user is not None
        else Event.objects.filter(organization_id=organization_id)
    )
    qs = qs.filter(status=EventStatus.PENDING_PO)
    if facility is not None:
        qs = qs.filter(facility=facility)
    if rep is not None:
        qs = qs.filter(representative=rep)
    if older_than is not None:
        qs = qs.filter(date__lt=today - datetime.timedelta(days=older_than))
    return (
        qs.select_related("facility", "representative", "sales_order")
        .annotate(amount=F("sales_order__total"))
        .order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))
    )


def days_since(event: Event, today: datetime.date | None = None) -> int:
    return ((today or timezone.localdate()) - event.date).days


@dataclass(frozen=True)
class Waiting:
    count: int
    amount: Decimal
    oldest: Event | None
    oldest_days: int


def pending_po_summary(
    *, user: User, today: datetime.date | None = None, groups: list[dict] | None = None
) -> Waiting:
    """The total waiting for a PO and the oldest such event: two queries, or one when the page
    has the facility groups (``pending_po_groups``) already."""
    today = today or timezone.localdate()
    qs = pending_po_events(user=user, today=today)
    if groups is not None:
        totals = {"n": sum(g["count"] for g in groups),
                  "amount": sum((g["amount"] or Decimal(0) for g in groups), Decimal("0.00"))}
    else:
        totals = qs.order_by().aggregate(n=Count("id"), amount=Sum("sales_order__total"))
    oldest = qs.first() if totals["n"] else None
    return Waiting(
        totals["n"],
        totals["amount"] or Decimal("0.00"),
        oldest,
        days_since(oldest, today) if oldest else 0,
    )


def pending_po_groups(*, user: User, by: str, today: datetime.date | None = None) -> list[dict]:
    """The waiting events grouped by facility or by rep: count, amount, oldest case date."""
    today = today or timezone.localdate()
    keys = {
        "facility": ("facility_id", "facility__name"),
        "rep": ("representative_id", "representative__first_name", "representative__last_name"),
    }[by]
    rows = (
        pending_po_events(user=user, today=today)
        .order_by()
        .values(*keys)
        .annotate(n=Count("id"), amount=Sum("sales_order__total"), oldest=Min("date"))
        .order_by("oldest")
    )
    out = []
    for row in rows:
        name = (
            row["facility__name"]
            if by == "facility"
            else (f"{row['representative__first_name']} {row['representative__last_name']}".strip())
        )
        out.append(
            {
                "name": name,
                "count": row["n"],
                "amount": row["amount"],
                "days": (today - row["oldest"]).days,
            }
        )
    return out
