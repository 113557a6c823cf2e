"""Reads for the events screens. Each returns a queryset with its joins already applied."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from consignment.models import Facility
from events.models import Event, EventLine
from inventory.selectors import facility_stock_devices, loaned_kit_devices, sellable_devices

DEVICE_SEARCH_LIMIT = 25


def event_list(*, user):
    """A rep's own events; the organisation's for admins and managers."""
    return Event.objects.for_user(user).select_related(
        "facility", "representative", "sales_order", "credit_memo"
    )


def event_detail_qs(*, user):
    return Event.objects.for_user(user).select_related(
        "facility", "representative", "facility_contact", "manufacturer", "product_line",
        "submitted_by", "sales_order", "credit_memo", "procedure",
    )


def event_lines(*, event: Event):
    return (
        EventLine.objects.filter(event=event)
        .select_related(
            "device__product__product_line", "device__facility", "device__custodian",
            "device__kit", "sold_by"
        )
        .order_by("id")
    )


def lines_total(lines) -> Decimal:
    return sum((line.price for line in lines), Decimal("0.00"))


def event_device_candidates(*, event: Event, today: datetime.date | None = None):
    """The devices the rules allow on ``event`` right now (the rules are re-checked on add).

    Stocking order or normal case: the representative's sellable devices (``sellable_devices``:
    available, in their custody, not in transit, unexpired). A "Show Facility Stock items only"
    case: the unexpired FACILITY_STOCK of the event's facility. A Return: the FACILITY_STOCK of
    the event's facility, expired units included (they are returned for destruction). Always of
    the event's manufacturer, never already on the event.
    """
    today = today or timezone.localdate()
    if event.is_return:
        qs = facility_stock_devices(
            organization_id=event.organization_id, facility_id=event.facility_id,
            include_expired=True,
        )
    elif event.is_case and event.facility_stock_only:
        qs = facility_stock_devices(
            organization_id=event.organization_id, facility_id=event.facility_id, today=today
        )
    else:
        qs = sellable_devices(
            organization_id=event.organization_id, custodian_id=event.representative_id,
            today=today,
        )
        if event.is_case:  # and the units of kits loaned to the case's facility
            qs = qs | loaned_kit_devices(
                organization_id=event.organization_id, custodian_id=event.representative_id,
                facility_id=event.facility_id, today=today,
            )
    qs = qs.filter(product__product_line__manufacturer_id=event.manufacturer_id)
    return qs.exclude(pk__in=EventLine.objects.filter(event=event).values("device_id"))


def event_device_search(
    *, event: Event, query: str = "", today: datetime.date | None = None,
    limit: int = DEVICE_SEARCH_LIMIT,
):
    """Search the candidates by serial, lot, catalogue number or description (every word)."""
    qs = event_device_candidates(event=event, today=today)
    for word in (query or "").split()[:5]:
        qs = qs.filter(
            Q(serial__icontains=word)
            | Q(lot__icontains=word)
            | Q(product__reference__icontains=word)
            | Q(product__description__icontains=word)
        )
    return qs.select_related("product", "facility").order_by(
        "product__reference", "expiration_date", "serial", "id"
    )[:limit]


def facilities_in_scope(user: User) -> QuerySet:
    """The facilities whose stock ``user`` sees: all of the organisation, or a rep's own — the
    facilities they are assigned to cover (``Facility.reps``). Assignments only: an event a rep
    creates (a draft at any facility, a cancelled one) never widens what they see."""
    qs = Facility.objects.for_user(user)
    if getattr(user, "role", None) == User.Role.REP:
        covers = Facility.reps.through.objects.filter(facility_id=OuterRef("pk"), user_id=user.pk)
        qs = qs.filter(Exists(covers))
    return qs.order_by("name")
