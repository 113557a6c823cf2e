"""What a regional manager sees: one rule, read by every ``for_user`` and report scope.

A region (``Region``) groups facilities (``Facility.region``, one region at most) and users
(``RegionMember``, one region per user). A regional manager reads, and changes nothing:

- the region's **facilities**;
- the region's **reps** (its members whose role is rep);
- **devices** held by a region rep (custody), at a region facility (facility stock, loans), or
  sold or used on an event they may see;
- **events** at a region facility or whose representative is a region rep.

Everything else of the organisation is a 404 and is absent from lists, CSVs and totals. A
regional manager with no region sees nothing. Both helpers return subqueries (``values``), so a
scoped list stays one query.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from consignment.models import Facility, RegionMember


def region_facility_ids(user) -> QuerySet:
    """The pks of the facilities of ``user``'s region (a subquery)."""
    return Facility.objects.filter(
        organization_id=user.organization_id, region__members__user_id=user.pk
    ).values("pk")


def region_rep_ids(user) -> QuerySet:
    """The pks of the reps of ``user``'s region (a subquery)."""
    return RegionMember.objects.filter(
        organization_id=user.organization_id, region__members__user_id=user.pk,
        user__role=User.Role.REP,
    ).values("user_id")


def region_events_q(user, prefix: str = "") -> Q:
    """Events (at ``prefix``, e.g. ``"event__"``) at the region's facilities or by its reps."""
    return (Q(**{f"{prefix}facility_id__in": region_facility_ids(user)})
            | Q(**{f"{prefix}representative_id__in": region_rep_ids(user)}))


def region_devices_q(user, prefix: str = "") -> Q:
    """Devices (at ``prefix``) held by the region's reps, at its facilities, or sold or used on
    one of its events."""
    return (Q(**{f"{prefix}custodian_id__in": region_rep_ids(user)})
            | Q(**{f"{prefix}facility_id__in": region_facility_ids(user)})
            | region_events_q(user, f"{prefix}sold_on__")
            | region_events_q(user, f"{prefix}used_in__"))
