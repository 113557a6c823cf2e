"""Reads for the loan screens and the dashboard: loans, the units a kit's loan used, the kits
out / overdue / due today, kit utilisation. Bounded queries: none grows with rows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from events.models import Event, EventStatus, EventType
from inventory.models import DeviceMovement, DeviceStatus, Kit, KitMovement, MovementKind


def loan_list(*, user) -> QuerySet[Event]:
    return (Event.objects.for_user(user).filter(event_type=EventType.LOAN)
            .select_related("facility", "representative").order_by("-date", "-id"))


def kits_used_on_loan(*, loan: Event, kits) -> dict[int, list[DeviceMovement]]:
    """Per kit: the units that left it on a case while it was out on ``loan`` (one query)."""
    used: dict[int, list[DeviceMovement]] = {kit.pk: [] for kit in kits}
    for movement in (
        DeviceMovement.objects.filter(
            organization_id=loan.organization_id, from_kit_id__in=list(used),
            kind=MovementKind.SOLD_AND_CONSUMED, from_status=DeviceStatus.LOANED,
            event__date__gte=loan.date - datetime.timedelta(days=366), at__gte=loan.created_at,
        ).select_related("device__product", "event").order_by("at", "id")
    ):
        used[movement.from_kit_id].append(movement)
    return used


@dataclass
class KitsOut:
    """The dashboard's kit figures: kits on loan, of them overdue and due back today."""

    out: int
    overdue: int
    due_today: int
    overdue_kits: list[Kit]


def kits_out(*, user, today: datetime.date | None = None) -> KitsOut:
    """Two queries: the counts, and up to ten overdue kits to name."""
    today = today or timezone.localdate()
    kits = Kit.objects.for_user(user).filter(status=Kit.Status.LOANED)
    if getattr(user, "is_rep", False):
        kits = kits.filter(custodian=user)
    counts = kits.aggregate(
        out=Count("pk"), overdue=Count("pk", filter=Q(loan__due_back__lt=today)),
        due_today=Count("pk", filter=Q(loan__due_back=today)),
    )
    overdue = list(kits.filter(loan__due_back__lt=today).select_related("loan", "facility")
                   .order_by("loan__due_back", "tag")[:10])
    return KitsOut(out=counts["out"], overdue=counts["overdue"], due_today=counts["due_today"],
                   overdue_kits=overdue)


@dataclass
class KitUse:
    """One kit's line of the utilisation report (read as values: no model per row)."""

    kit_id: int
    tag: str
    template: str
    custodian: str
    loans: int
    days_out: int
    units_used: int
    last_loaned: datetime.date | None

    @property
    def units_per_loan(self) -> float:
        return round(self.units_used / self.loans, 1) if self.loans else 0.0

    @property
    def idle(self) -> bool:
        return self.loans == 0


def _person(first: str, last: str, username: str) -> str:
    """``str(user)`` from its columns (``User.__str__``: the full name, else the username)."""
    return f"{first} {last}".strip() or username


def kit_utilisation(*, user, date_from: datetime.date, date_to: datetime.date,
                    today: datetime.date | None = None, limit: int = 500) -> list[KitUse]:
    """Per kit, loans sent in [date_from, date_to]: how many, days out (until checked in, or
    today), units used on cases from the kit; kits with no loan are idle. Three queries, each on
    an index (the units used: the partial index ``movement_used_from_loaned_kit``)."""
    today = today or timezone.localdate()
    kits = list(Kit.objects.for_user(user).order_by("tag").values_list(
        "pk", "tag", "template__name", "custodian__first_name", "custodian__last_name",
        "custodian__username")[:limit])
    ids = [row[0] for row in kits]
    moves = (KitMovement.objects.filter(kit_id__in=ids, at__date__gte=date_from,
                                        at__date__lte=date_to + datetime.timedelta(days=366),
                                        kind__in=[KitMovement.Kind.LOANED,
                                                  KitMovement.Kind.CHECKED_IN])
             .order_by("kit_id", "at", "id").values_list("kit_id", "kind", "at", "event_id"))
    loans: dict[int, list[tuple]] = {pk: [] for pk in ids}
    open_loan: dict[int, tuple] = {}
    for kit_id, kind, at, event_id in moves:
        if kind == KitMovement.Kind.LOANED:
            if date_from <= at.date() <= date_to:
                open_loan[kit_id] = (event_id, at.date())
        elif kit_id in open_loan:
            event_id, start = open_loan.pop(kit_id)
            loans[kit_id].append((event_id, start, at.date()))
    for kit_id, (event_id, start) in open_loan.items():
        loans[kit_id].append((event_id, start, today))
    used = dict(
        DeviceMovement.objects.filter(from_kit_id__in=ids, from_status=DeviceStatus.LOANED,
                                      kind=MovementKind.SOLD_AND_CONSUMED,
                                      at__date__gte=date_from)
        .values_list("from_kit_id").annotate(n=Count("id")).values_list("from_kit_id", "n")
    )
    return [
        KitUse(kit_id=pk, tag=tag, template=template, custodian=_person(first, last, username),
               loans=len(loans[pk]),
               days_out=sum(max((end - start).days, 1) for _, start, end in loans[pk]),
               units_used=used.get(pk, 0),
               last_loaned=max((start for _, start, _ in loans[pk]), default=None))
        for pk, tag, template, first, last, username in kits
    ]


def loan_is_overdue(loan: Event, today: datetime.date | None = None) -> bool:
    return (loan.status == EventStatus.ON_LOAN
            and loan.due_back < (today or timezone.localdate()))
