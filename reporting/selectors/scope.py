"""Who sees what, and the filters every report takes.

- admins and managers: the whole organisation;
- a rep: the facility stock, use and replenishment of *their facilities* — the facilities they are
  assigned to cover (``Facility.reps``; ``events.selectors.facilities_in_scope``), never
  facilities where they merely have events (a draft or a cancelled event gives no scope) — and
  only *their own numbers*: sales and commissions of their own events and credits;
- a regional manager: their region (``consignment.regions``) — the facility stock of its
  facilities, and every figure of the events at its facilities or by its reps (credits: of its
  reps or at its facilities).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import reps_for  # noqa: F401  (the report filters use it)
from consignment.models import ParLevel
from consignment.regions import region_facility_ids, region_rep_ids
from core.dates import default_period
from events.models import EventLine, EventLineSummary
from events.selectors import facilities_in_scope
from inventory.models import Device, DeviceStatus
from inventory.selectors import product_lines_for  # noqa: F401  (the report filters use it)

USE_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Scope:
    """What a reader may see: the organisation, optionally narrowed to facilities and to a rep's
    own numbers, or to a region. ``facility_ids`` is a subquery (``values("pk")``) or None for
    every facility; ``rep_ids`` (a region's reps, a subquery) is set for a regional manager."""

    organization_id: int
    facility_ids: QuerySet | None = None
    rep_id: int | None = None
    rep_ids: QuerySet | None = None

    def events_q(self, event: str = "") -> Q:
        """A region's events (at ``event``, e.g. ``"event__"``): at its facilities or by its
        reps; every event for other readers but reps (whose callers narrow them themselves)."""
        if self.rep_ids is None:
            return Q()
        return (Q(**{f"{event}facility_id__in": self.facility_ids})
                | Q(**{f"{event}representative_id__in": self.rep_ids}))


def scope_for(user: User) -> Scope:
    if getattr(user, "role", None) == User.Role.REP:
        return Scope(
            organization_id=user.organization_id,
            facility_ids=facilities_in_scope(user).values("pk"),
            rep_id=user.pk,
        )
    if getattr(user, "role", None) == User.Role.REGIONAL_MANAGER:
        return Scope(
            organization_id=user.organization_id,
            facility_ids=region_facility_ids(user),
            rep_ids=region_rep_ids(user),
        )
    return Scope(organization_id=user.organization_id)


@dataclass(frozen=True)
class ReportFilters:
    date_from: datetime.date
    date_to: datetime.date
    today: datetime.date
    facility_id: int | None = None
    product_line_id: int | None = None

    @classmethod
    def default(cls, today: datetime.date | None = None, **kwargs) -> ReportFilters:
        today = today or timezone.localdate()
        date_from, date_to = default_period(today)
        return cls(date_from=date_from, date_to=date_to, today=today, **kwargs)

    def narrow(self, qs: QuerySet, *, facility: str, product_line: str) -> QuerySet:
        """Apply the optional facility and product-line filters, given the lookup paths."""
        if self.facility_id:
            qs = qs.filter(**{facility: self.facility_id})
        if self.product_line_id:
            qs = qs.filter(**{product_line: self.product_line_id})
        return qs

    def window(self, days: int) -> ReportFilters:
        """The last ``days`` days, with the same facility and product-line filters."""
        return ReportFilters(
            date_from=self.today - datetime.timedelta(days=days - 1), date_to=self.today,
            today=self.today, facility_id=self.facility_id,
            product_line_id=self.product_line_id,
        )


def facility_stock(scope: Scope, filters: ReportFilters) -> QuerySet:
    """Facility-stock devices in scope (any expiry)."""
    qs = Device.objects.filter(
        organization_id=scope.organization_id, status=DeviceStatus.FACILITY_STOCK
    )
    if scope.facility_ids is not None:
        qs = qs.filter(facility_id__in=scope.facility_ids)
    return filters.narrow(qs, facility="facility_id", product_line="product__product_line_id")


def par_levels(scope: Scope, filters: ReportFilters) -> QuerySet:
    qs = ParLevel.objects.filter(organization_id=scope.organization_id)
    if scope.facility_ids is not None:
        qs = qs.filter(facility_id__in=scope.facility_ids)
    return filters.narrow(qs, facility="facility_id", product_line="product__product_line_id")


def _in_scope(qs: QuerySet, scope: Scope, filters: ReportFilters, *, own_numbers: bool,
              event: str, product: str) -> QuerySet:
    """``qs`` narrowed to the period, the user's scope and the filters; ``event`` is the path to
    the event's facts ("event__" on lines, "" on summaries, which copy them), ``product`` the
    path to the product."""
    qs = qs.filter(**{f"{event}date__gte": filters.date_from,
                      f"{event}date__lte": filters.date_to})
    if scope.rep_id is not None:
        if own_numbers:
            qs = qs.filter(**{f"{event}representative_id": scope.rep_id})
        else:
            qs = qs.filter(**{f"{event}facility_id__in": scope.facility_ids})
    qs = qs.filter(scope.events_q(event))
    return filters.narrow(qs, facility=f"{event}facility_id",
                          product_line=f"{product}__product_line_id")


def committed_lines(scope: Scope, filters: ReportFilters, *, own_numbers: bool) -> QuerySet:
    """Committed (submitted) event lines of the period. ``own_numbers``: a rep's own events only;
    otherwise a rep sees the lines at their facilities."""
    qs = EventLine.objects.filter(event__organization_id=scope.organization_id, committed=True)
    return _in_scope(qs, scope, filters, own_numbers=own_numbers, event="event__",
                     product="device__product")


def line_summary(scope: Scope, filters: ReportFilters, *, own_numbers: bool) -> QuerySet:
    """The committed lines of the period as ``EventLineSummary`` rows (per event, product and
    line kind; written when the lines are committed): the rows of ``committed_lines``, counted
    and summed, without joining each line to its event and device. Same scope and filters."""
    qs = EventLineSummary.objects.filter(organization_id=scope.organization_id)
    return _in_scope(qs, scope, filters, own_numbers=own_numbers, event="", product="product")

