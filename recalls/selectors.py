"""Reads of the recall pages, the dashboard card and the close report. Every query is scoped to
the user's organisation; a recall's page costs a fixed number of queries whatever its size."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    Recall,
    RecallHolder,
    RecallStatus,
    RecallUnit,
)
from inventory.selectors import may_see_patient_id
from recalls.models import RecallNotice

BACK = ~Q(device__status=DeviceStatus.QUARANTINED)  # a unit accounted for (no longer quarantined)


def _count(queryset) -> Coalesce:
    """A correlated count per recall (no join of units × letters: one recall of 1,000 units and
    50 letters would join 50,000 rows)."""
    return Coalesce(
        Subquery(
            queryset.filter(recall=OuterRef("pk"))
            .order_by()
            .values("recall")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        0,
    )


def recall_list(*, user) -> QuerySet[Recall]:
    """The organisation's recalls, newest first, with their progress counts."""
    return (
        Recall.objects.for_user(user)
        .select_related("manufacturer")
        .annotate(
            unit_count=_count(RecallUnit.objects.all()),
            back_count=_count(RecallUnit.objects.filter(BACK)),
            notice_count=_count(RecallNotice.objects.all()),
            ack_count=_count(RecallNotice.objects.filter(acknowledged_at__isnull=False)),
        )
        .order_by("-opened_at", "-id")
    )


def recall_detail_qs(*, user) -> QuerySet[Recall]:
    return Recall.objects.for_user(user).select_related(
        "manufacturer", "product", "opened_by", "closed_by"
    )


def percent(done: int, total: int) -> int:
    """Progress as a whole percentage (100 when there is nothing to do)."""
    return 100 if not total else int(100 * done / total)


@dataclass
class HolderProgress:
    """The units one holder (rep, warehouse, facility) must bring back, and how many did."""

    holder: str
    name: str
    custodian_id: int | None
    facility_id: int | None
    total: int
    back: int

    @property
    def label(self) -> str:
        return RecallHolder(self.holder).label

    @property
    def percent(self) -> int:
        return percent(self.back, self.total)

    @property
    def outstanding(self) -> int:
        return self.total - self.back


def recall_holders(*, recall: Recall) -> list[HolderProgress]:
    """Per holder at the time the recall took the units: how many, and how many came back (one
    grouped query)."""
    rows = (
        RecallUnit.objects.filter(recall=recall)
        .values(
            "holder",
            "custodian_id",
            "facility_id",
            "custodian__first_name",
            "custodian__last_name",
            "custodian__username",
            "facility__name",
        )
        .annotate(total=Count("id"), back=Count("id", filter=BACK))
        .order_by("holder", "facility__name", "custodian__last_name", "custodian__first_name")
    )
    holders = []
    for row in rows:
        if row["holder"] == RecallHolder.FACILITY:
            name = row["facility__name"]
            custodian_id = None
        else:
            name = (
                f"{row['custodian__first_name']} {row['custodian__last_name']}".strip()
                or row["custodian__username"]
            )
            custodian_id = row["custodian_id"]
        holders.append(
            HolderProgress(
                holder=row["holder"],
                name=name,
                custodian_id=custodian_id,
                facility_id=row["facility_id"] if row["holder"] == RecallHolder.FACILITY else None,
                total=row["total"],
                back=row["back"],
            )
        )
    return holders


def recall_outstanding_units(*, recall: Recall) -> QuerySet[RecallUnit]:
    """The units still quarantined, with where they are (paginate it)."""
    return (
        RecallUnit.objects.filter(recall=recall, device__status=DeviceStatus.QUARANTINED)
        .select_related("device__product", "device__custodian", "device__facility", "device__kit")
        .order_by("holder", "facility_id", "custodian_id", "device_id")
    )


def recall_units_report(*, recall: Recall) -> QuerySet[RecallUnit]:
    """Every unit the recall took, with how it came back (the close report)."""
    return (
        RecallUnit.objects.filter(recall=recall)
        .select_related("device__product", "custodian", "facility", "kit")
        .order_by("device__product__reference", "device__lot", "device__serial", "device_id")
    )


def release_movements(*, recall: Recall) -> dict[int, object]:
    """For each unit of the recall that came back, the movement that released it."""
    rows = (
        DeviceMovement.objects.filter(
            device__recall_units__recall=recall,
            from_status=DeviceStatus.QUARANTINED,
        )
        .select_related("event", "adjustment", "actor")
        .order_by("device_id", "at", "id")
    )
    return {m.device_id: m for m in rows}


@dataclass
class FacilityCases:
    """A facility's part of the recall: its letter, the units it held and the cases there that
    used a unit in scope."""

    facility_id: int
    name: str
    notice: RecallNotice | None = None
    held: int = 0
    back: int = 0
    cases: list = field(default_factory=list)  # (event, [devices], patient_id or None)


def used_devices(*, recall: Recall) -> QuerySet[Device]:
    """Units in the recall's scope already used in a case (they can't come back)."""
    return (
        Device.objects.filter(recall.scope_q(), used_in__isnull=False)
        .select_related("product", "used_in__facility", "used_in__representative")
        .order_by("used_in__facility__name", "used_in__date", "used_in_id", "pk")
    )


def recall_facilities(
    *, recall: Recall, user, holders: list[HolderProgress] | None = None
) -> tuple[list[FacilityCases], list[str]]:
    """Per facility concerned: its letter and acknowledgement, its units and the cases that used
    units in scope; patient IDs only for whom may see them. Returns the facilities and the
    patient IDs shown (the view records them in the patient access log)."""
    notices = list(
        RecallNotice.objects.filter(recall=recall).select_related("facility", "acknowledged_by")
    )
    by_id: dict[int, FacilityCases] = {
        n.facility_id: FacilityCases(facility_id=n.facility_id, name=n.facility.name, notice=n)
        for n in notices
    }
    for holder in holders if holders is not None else recall_holders(recall=recall):
        if holder.facility_id:
            entry = by_id.setdefault(
                holder.facility_id, FacilityCases(holder.facility_id, holder.name)
            )
            entry.held, entry.back = holder.total, holder.back
    shown = []
    cases: dict[int, tuple] = {}
    for device in used_devices(recall=recall):
        event = device.used_in
        if event.pk not in cases:
            patient = event.patient_id if may_see_patient_id(user, event) else None
            if patient:
                shown.append(patient)
            cases[event.pk] = (event, [], patient)
            entry = by_id.setdefault(
                event.facility_id, FacilityCases(event.facility_id, event.facility.name)
            )
            entry.cases.append(cases[event.pk])
        cases[event.pk][1].append(device)
    return sorted(by_id.values(), key=lambda f: f.name), shown


@dataclass
class RecallProgress:
    units: int
    back: int
    notices: int
    acknowledged: int

    @property
    def units_percent(self) -> int:
        return percent(self.back, self.units)

    @property
    def ack_percent(self) -> int:
        return percent(self.acknowledged, self.notices)

    @property
    def complete(self) -> bool:
        return self.back == self.units and self.acknowledged == self.notices


def recall_progress(*, recall: Recall) -> RecallProgress:
    units = RecallUnit.objects.filter(recall=recall).aggregate(
        total=Count("id"), back=Count("id", filter=BACK)
    )
    notices = RecallNotice.objects.filter(recall=recall).aggregate(
        total=Count("id"), ack=Count("id", filter=Q(acknowledged_at__isnull=False))
    )
    return RecallProgress(
        units=units["total"],
        back=units["back"],
        notices=notices["total"],
        acknowledged=notices["ack"],
    )


def open_recalls(*, user) -> list[Recall]:
    """The dashboard's card: open recalls with their progress counts."""
    return list(recall_list(user=user).filter(status=RecallStatus.OPEN))
