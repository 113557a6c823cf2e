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
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.utils import timezone

from accounts.models import User
from billing.models import SalesOrder
from consignment.models import Facility
from core.grouping import grouping_sets
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
    has ``pending_po_groups``'s facility groups already."""
    today = today or timezone.localdate()
    qs = pending_po_events(user=user, today=today)
    if groups is not None:
        totals = {"n": sum(g["count"] for g in groups),
                  "amount": sum((g["amount"] or Decimal(0) for g in groups), Decimal("0.00"))}
    else:
        totals = (qs.select_related(None).order_by()
                  .aggregate(n=Count("id"), amount=Sum(Subquery(_so_total()))))
    oldest = qs.first() if totals["n"] else None
    return Waiting(
        totals["n"],
        totals["amount"] or Decimal("0.00"),
        oldest,
        days_since(oldest, today) if oldest else 0,
    )


def _so_total():
    """The waiting event's sales order total, one index-only lookup per event
    (``sales_order_event_total``; unordered: the model's default order would read the row for
    its date): joined instead, PostgreSQL hashes every sales order of every
    organisation (16 of the Home page's SQL ms at a million devices)."""
    return SalesOrder.objects.filter(event=OuterRef("pk")).order_by().values("total")[:1]


def pending_po_groups(*, user: User, today: datetime.date | None = None) -> dict[str, list[dict]]:
    """The waiting events grouped by facility and by rep (``{"facility": [...], "rep": [...]}``,
    each row's name, count, amount and days since the oldest case, the oldest first), in one
    pass (``core.grouping.grouping_sets``): the events are read once, each one's amount an
    index-only lookup of its sales order rather than a hash of every sales order of every
    organisation, and the names joined to the few grouped rows only."""
    today = today or timezone.localdate()
    events = pending_po_events(user=user, today=today).annotate(so_total=Subquery(_so_total()))
    found = grouping_sets(
        events,
        columns={"facility_id": "facility_id", "rep_id": "representative_id", "date": "date",
                 "total": "so_total"},
        sets={"facility": ("facility_id",), "rep": ("rep_id",)},
        detail={"n": "COUNT(*)", "amount": "SUM(total)", "first": "MIN(date)"},
        aggregates={"count": ("SUM(n)::integer", []), "sum": ("SUM(amount)", []),
                    "oldest": ("MIN(first)", [])},
        labels={"facility_id": (Facility, {"facility": "name"}),
                "rep_id": (User, {"first": "first_name", "last": "last_name"})},
        measures=("date", "total"),
        organization_id=user.organization_id,
    )
    out: dict[str, list[dict]] = {}
    for by, key in (("facility", "facility_id"), ("rep", "rep_id")):
        rows = sorted(found[by], key=lambda r, key=key: (r["oldest"], r[key]))
        out[by] = [{
            "name": row["facility"] if by == "facility"
            else f"{row['first']} {row['last']}".strip(),
            "count": row["count"],
            "amount": row["sum"],
            "days": (today - row["oldest"]).days,
        } for row in rows]
    return out
