"""Reads for inventory requests: the admins' queue, a case's requests, the units suggested to
send (longest dating first), and the upcoming cases whose rep lacks the requested stock."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from accounts.models import User
from events.models import (
    Event,
    EventLine,
    EventStatus,
    EventType,
    InventoryRequest,
    InventoryRequestLine,
    InventoryRequestStatus,
)
from inventory.models import Device, DeviceStatus

FLAG_DAYS = 2  # cases of today and the next two days are checked for missing stock
SUGGEST_SPARE = 10  # units offered beyond what is outstanding, to choose from

OPEN = [InventoryRequestStatus.OPEN, InventoryRequestStatus.PARTIAL]


def _lines():
    return Prefetch(
        "lines", queryset=InventoryRequestLine.objects.select_related("product").order_by("id")
    )


def request_queue(*, user: User) -> QuerySet:
    """The organisation's open requests, soonest case first (the admins' queue)."""
    return (
        InventoryRequest.objects.for_user(user)
        .filter(status__in=OPEN)
        .select_related("event__facility", "event__representative", "requested_by", "kit_template")
        .prefetch_related(_lines())
        .order_by("event__date", "event__scheduled_at", "id")
    )


def request_detail_qs(*, user: User) -> QuerySet:
    return (
        InventoryRequest.objects.for_user(user)
        .select_related(
            "event__facility",
            "event__representative",
            "requested_by",
            "answered_by",
            "kit_template",
        )
        .prefetch_related(_lines(), "transfers")
    )


def event_requests(*, event: Event) -> list[InventoryRequest]:
    return list(
        InventoryRequest.objects.filter(event=event)
        .select_related("answered_by", "kit_template")
        .prefetch_related(_lines(), "transfers")
        .order_by("id")
    )


def suggested_units(*, request: InventoryRequest, today: datetime.date) -> dict[int, list]:
    """Per requested product still outstanding: units the office could send, longest dating
    first — AVAILABLE, loose, not in transit, not the rep's, not expired on the case's day (one
    query; at most outstanding + ``SUGGEST_SPARE`` per product)."""
    outstanding = {
        line.product_id: line.outstanding for line in request.lines.all() if line.outstanding > 0
    }
    if not outstanding:
        return {}
    event = request.event
    ranked = (
        Device.objects.filter(
            organization_id=request.organization_id,
            product_id__in=list(outstanding),
            status=DeviceStatus.AVAILABLE,
            pending_transfer__isnull=True,
            kit__isnull=True,
            expiration_date__gte=max(event.date, today),
        )
        .exclude(custodian_id=event.representative_id)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("product_id")],
                order_by=[F("expiration_date").desc(), F("pk").asc()],
            )
        )
        .filter(rank__lte=max(outstanding.values()) + SUGGEST_SPARE)
        .select_related("custodian", "product")
        .order_by("product_id", "rank")
    )
    result: dict[int, list] = {pid: [] for pid in outstanding}
    for device in ranked:
        if device.rank <= outstanding[device.product_id] + SUGGEST_SPARE:
            device.suggested = device.rank <= outstanding[device.product_id]
            result[device.product_id].append(device)
    return result


@dataclass(frozen=True)
class Shortfall:
    product: object
    needed: int
    held: int

    def __str__(self) -> str:
        return f"{self.product.reference}: {self.held} of {self.needed}"


def needed_quantity(request: InventoryRequest, line: InventoryRequestLine) -> int:
    """What the rep should hold for a line: all of it while the request is open; what was sent
    once it is answered (the refused rest is not expected)."""
    return line.quantity if request.status in OPEN else line.fulfilled


def stock_shortfalls(*, cases: list[Event]) -> dict[int, list[Shortfall]]:
    """For each case with requests: the products its rep holds fewer of (sellable on the case's
    day, or already marked on it) than requested. Three queries, whatever the number of cases."""
    if not cases:
        return {}
    by_pk = {case.pk: case for case in cases}
    needs: dict[int, dict[int, list]] = {}
    requests = (
        InventoryRequest.objects.filter(event_id__in=list(by_pk))
        .exclude(status=InventoryRequestStatus.REFUSED)
        .prefetch_related(_lines())
    )
    for request in requests:
        for line in request.lines.all():
            need = needed_quantity(request, line)
            if need:
                entry = needs.setdefault(request.event_id, {}).setdefault(
                    line.product_id, [line.product, 0]
                )
                entry[1] += need
    if not needs:
        return {}
    products = {pid for per_case in needs.values() for pid in per_case}
    reps = {by_pk[pk].representative_id for pk in needs}
    first_day = min(by_pk[pk].date for pk in needs)
    held = {}
    rows = (
        Device.objects.filter(
            custodian_id__in=reps,
            product_id__in=products,
            status=DeviceStatus.AVAILABLE,
            pending_transfer__isnull=True,
            kit__isnull=True,
            expiration_date__gte=first_day,
        )
        .values("custodian_id", "product_id", "expiration_date")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        held.setdefault((row["custodian_id"], row["product_id"]), []).append(
            (row["expiration_date"], row["n"])
        )
    marked = {
        (row["event_id"], row["device__product_id"]): row["n"]
        for row in EventLine.objects.filter(
            event_id__in=list(needs), device__product_id__in=products
        )
        .values("event_id", "device__product_id")
        .annotate(n=Count("pk"))
    }
    result: dict[int, list[Shortfall]] = {}
    for event_id, per_product in needs.items():
        case = by_pk[event_id]
        for product_id, (product, need) in sorted(per_product.items()):
            have = sum(
                n
                for expiry, n in held.get((case.representative_id, product_id), [])
                if expiry >= case.date
            )
            have += marked.get((event_id, product_id), 0)
            if have < need:
                result.setdefault(event_id, []).append(Shortfall(product, need, have))
    return result


def upcoming_short_cases(*, user: User, today: datetime.date) -> list[Event]:
    """Cases ``user`` sees, today to ``FLAG_DAYS`` ahead, whose rep lacks requested stock (each
    with ``.shortfalls``)."""
    cases = list(
        Event.objects.for_user(user)
        .filter(
            event_type=EventType.CASE,
            status=EventStatus.DRAFT,
            date__gte=today,
            date__lte=today + datetime.timedelta(days=FLAG_DAYS),
        )
        .filter(Q(inventory_requests__isnull=False))
        .distinct()
        .select_related("facility", "representative")
        .order_by("date", "scheduled_at", "id")
    )
    shortfalls = stock_shortfalls(cases=cases)
    flagged = []
    for case in cases:
        if case.pk in shortfalls:
            case.shortfalls = shortfalls[case.pk]
            flagged.append(case)
    return flagged
