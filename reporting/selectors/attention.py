"""The home page's "Needs attention": what is waiting for the signed-in person, counted.

Each figure is one aggregate query whose cost does not grow with the rows it counts beyond an
index range (transfers and events by organisation and status, facility stock through the partial
index ``device_org_facility_stock``, kits by status), so the page stays cheap at a million
devices. What each role sees follows the reports' scope (``scope_for``: a rep's facilities are
the ones assigned to them; their events are their own) and the named permissions (a manager
answers no transfer).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User
from events.loan_selectors import KitsOut, kits_out
from events.models import Event, EventStatus
from inventory.models import Transfer
from reporting.selectors.scope import ReportFilters, facility_stock, par_levels, scope_for

# "Expiring" on the home page: within this many days (the dashboard's first expiry bucket).
EXPIRING_DAYS = 30


@dataclass(frozen=True)
class Attention:
    """The counts behind the home page. ``None``: the figure does not apply to this role."""

    transfers_to_me: int | None
    transfers_in_transit: int | None  # admins may answer any pending transfer
    drafts: int
    pending_po: int
    expired_stock: int
    expiring_stock: int
    low_stock: int
    kits: KitsOut


def transfer_counts(*, user: User) -> tuple[int | None, int | None]:
    """Pending transfers addressed to ``user`` and, for an admin (who may answer any), every
    pending transfer of the organisation: one query; (None, None) without the permission."""
    if not user.can("transfer_devices"):
        return None, None
    counts = Transfer.objects.for_user(user).filter(status=Transfer.Status.PENDING).aggregate(
        mine=Count("pk", filter=Q(to_custodian=user)), all=Count("pk"),
    )
    return counts["mine"], counts["all"] if user.is_admin else None


def event_counts(*, user: User) -> dict[str, int]:
    """Open drafts and submitted events still waiting for a PO (a rep: their own; admins and
    managers: the organisation's): one query on the (organization, status) index."""
    return Event.objects.for_user(user).filter(
        status__in=(EventStatus.DRAFT, EventStatus.PENDING_PO)
    ).aggregate(
        drafts=Count("pk", filter=Q(status=EventStatus.DRAFT)),
        pending_po=Count("pk", filter=Q(status=EventStatus.PENDING_PO)),
    )


def facility_stock_counts(*, user: User, today: datetime.date,
                          days: int = EXPIRING_DAYS) -> dict[str, int]:
    """Facility stock in the user's scope already expired, and expiring within ``days`` (today
    included): one aggregate over the partial index of facility stock."""
    filters = ReportFilters.default(today)
    soon = today + datetime.timedelta(days=days)
    return facility_stock(scope_for(user), filters).filter(expiration_date__lte=soon).aggregate(
        expired=Count("pk", filter=Q(expiration_date__lt=today)),
        expiring=Count("pk", filter=Q(expiration_date__gte=today)),
    )


def low_stock_count(*, user: User, today: datetime.date) -> int:
    """How many facility × product rows in the user's scope are below their par level: the
    dashboard's low-stock rows (``stock_sql``: a par level, unexpired stock on hand below it).

    Counted per par level, each with one index-only count of its facility and product's stock
    (``device_org_facility_stock``), so the cost follows the par levels in scope, not the facility
    stock. (The dashboard's FULL JOIN, counted, was planned as a nested loop re-reading the rep's
    whole facility stock once per par level: 0.1–0.3 s for rep1 at 10M devices.)"""
    scope, filters = scope_for(user), ReportFilters.default(today)
    on_hand = (
        facility_stock(scope, filters)
        .filter(expiration_date__gte=today, facility_id=OuterRef("facility_id"),
                product_id=OuterRef("product_id"))
        .order_by().values("facility_id").annotate(n=Count("*")).values("n")
    )
    return (par_levels(scope, filters).annotate(on_hand=Coalesce(Subquery(on_hand), 0))
            .filter(minimum__isnull=False, on_hand__lt=F("minimum")).count())


def attention_for(*, user: User, today: datetime.date) -> Attention:
    """Everything the home page counts for ``user``: six queries whatever the data's size."""
    mine, in_transit = transfer_counts(user=user)
    events = event_counts(user=user)
    stock = facility_stock_counts(user=user, today=today)
    return Attention(
        transfers_to_me=mine, transfers_in_transit=in_transit,
        drafts=events["drafts"],
        pending_po=events["pending_po"],
        expired_stock=stock["expired"], expiring_stock=stock["expiring"],
        low_stock=low_stock_count(user=user, today=today),
        kits=kits_out(user=user, today=today),
    )
