"""Loans: kits sent to a facility for a case date (``EventType.LOAN``), extended with a reason,
and checked in when they come back. A loaned kit is not sold: a Case at the loan's facility may
use its units (``events.services.kit_member_problem``; Submit For Billing sells and consumes
them and they leave the kit). Check-in accounts for every unit: back in the kit, used on a case,
or reported lost (a stock adjustment); a kit is never closed while a unit is unaccounted for.

Keyword-only functions, one transaction each. Lock order: the loan event, then the kits by
primary key, then their devices by primary key, then the ledger head.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from consignment.models import Facility
from core.db import service_transaction
from core.permissions import ensure_same_organization
from events.models import Event, EventLine, EventStatus, EventType, LoanExtension
from events.services import ensure_can_edit, lock_event, set_status
from inventory.kit_moves import kit_movement_add, lock_kit
from inventory.lifecycle import devices_transition
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    Kit,
    KitMovement,
    MovementKind,
    StockAdjustment,
    StockAdjustmentLine,
)
from inventory.services import lock_devices

REASON_MAX = LoanExtension._meta.get_field("reason").max_length
NAME_MAX = Event._meta.get_field("name").max_length


@service_transaction
def loan_create(
    *, actor: User, kits: Sequence[Kit], facility: Facility, representative: User,
    date: datetime.date, due_back: datetime.date, name: str = "",
    today: datetime.date | None = None,
) -> Event:
    """Send kits to a facility for a case date, due back on ``due_back``: a Loan event (On
    loan), every kit and every unit in it at the facility (one movement per unit plus the kit's
    own). The kits stay in the representative's custody; nothing is sold."""
    today = today or timezone.localdate()
    ensure_permission(actor, "manage_kits")
    ensure_same_organization(actor, facility, representative, *kits)
    errors = {}
    if representative.role != User.Role.REP or not representative.is_active:
        errors["representative"] = f"{representative} is not an active rep."
    elif actor.role == User.Role.REP and representative.pk != actor.pk:
        errors["representative"] = "A rep can only loan kits for themself."
    if not kits:
        errors["kits"] = "Choose at least one kit to loan."
    if due_back < date:
        errors["due_back"] = "The kits can't be due back before the case date."
    elif due_back < today:
        errors["due_back"] = "The due-back date is in the past."
    if errors:
        raise ValidationError(errors)
    locked = [lock_kit(k.pk) for k in sorted(kits, key=lambda k: k.pk)]
    for kit in locked:
        if kit.status != Kit.Status.AVAILABLE:
            errors.setdefault("kits", []).append(
                f"{kit} is {kit.get_status_display().lower()} and can't be loaned.")
        elif kit.custodian_id != representative.pk:
            errors.setdefault("kits", []).append(
                f"{kit} is in {kit.custodian}'s custody: transfer it to {representative} first.")
    if errors:
        raise ValidationError(errors)
    devices = lock_devices(Device.objects.filter(kit__in=locked).values_list("pk", flat=True))
    by_kit = {kit.pk: [d for d in devices if d.kit_id == kit.pk] for kit in locked}
    empty = [str(kit) for kit in locked if not by_kit[kit.pk]]
    if empty:
        raise ValidationError({"kits": f"{', '.join(empty)}: empty, nothing to loan."})
    line = locked[0].template.product_line
    loan = Event.objects.create(
        organization_id=actor.organization_id, event_type=EventType.LOAN,
        name=(name or "").strip() or f"Loan – {facility.name} {date:%Y-%m-%d}",
        date=date, due_back=due_back, facility=facility, representative=representative,
        manufacturer_id=line.manufacturer_id, product_line=line,
        status=EventStatus.ON_LOAN, created_by=actor,
    )
    loan.kits.set(locked)
    now = timezone.now()
    devices_transition(actor=actor, devices=devices, kind=MovementKind.KIT_LOANED, event=loan,
                       at=now, status=DeviceStatus.LOANED, facility=facility)
    for kit in locked:
        kit.status, kit.facility, kit.loan = Kit.Status.LOANED, facility, loan
        kit.save(update_fields=["status", "facility", "loan"])
        kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.LOANED,
                         from_custodian_id=kit.custodian_id, to_custodian_id=kit.custodian_id,
                         facility_id=facility.pk, event=loan, units=len(by_kit[kit.pk]), at=now)
    return loan


@service_transaction
def loan_extend(*, actor: User, loan: Event, due_back: datetime.date, reason: str) -> Event:
    """Move a loan's due-back date later, saying why (kept as a ``LoanExtension``)."""
    loan = lock_event(loan)
    ensure_can_edit(actor, loan)
    if not loan.is_loan:
        raise ValidationError(f"{loan} is not a loan.")
    if loan.status != EventStatus.ON_LOAN:
        raise ValidationError(f"{loan} is closed: its kits are back.")
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = "Say why the loan is extended."
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"Keep the reason under {REASON_MAX} characters."
    if due_back <= loan.due_back:
        errors["due_back"] = f"Choose a date after {loan.due_back:%Y-%m-%d}."
    if errors:
        raise ValidationError(errors)
    LoanExtension.objects.create(event=loan, previous_due_back=loan.due_back, due_back=due_back,
                                 reason=reason, actor=actor)
    loan.due_back = due_back
    loan.save(update_fields=["due_back"])
    for kit in Kit.objects.filter(loan=loan):
        kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.LOAN_EXTENDED, event=loan,
                         facility_id=loan.facility_id, note=f"due back {due_back}: {reason}")
    return loan


@service_transaction
def loan_update(
    *, actor: User, loan: Event, date: datetime.date, due_back: datetime.date,
    facility: Facility, name: str = "", today: datetime.date | None = None,
) -> Event:
    """Correct a loan's header while it is out: its name, case date, due-back date and facility.

    The due-back date may move earlier (not before the case date nor today) or stay; a later date
    is an extension, with its reason (``loan_extend``). The facility changes only while every
    kit of the loan is still out and none of its units is used or on a case: the kits and every
    unit in them follow (one movement per unit, a kit movement per kit). Each kit's ledger
    records what changed."""
    today = today or timezone.localdate()
    ensure_permission(actor, "manage_kits")
    loan = lock_event(loan)
    ensure_loan_writer(actor, loan)
    ensure_can_edit(actor, loan)
    ensure_same_organization(actor, facility)
    if loan.status != EventStatus.ON_LOAN:
        raise ValidationError(f"{loan} is closed: its kits are back.")
    name = (name or "").strip() or loan.name
    errors = {}
    if len(name) > NAME_MAX:
        errors["name"] = f"Keep the name under {NAME_MAX} characters."
    if due_back < date:
        errors["due_back"] = "The kits can't be due back before the case date."
    elif due_back > loan.due_back:
        errors["due_back"] = (f"A later due-back date is an extension: use Extend, with the "
                              f"reason (due back now {loan.due_back:%Y-%m-%d}).")
    elif due_back != loan.due_back and due_back < today:
        errors["due_back"] = "The due-back date is in the past."
    if errors:
        raise ValidationError(errors)
    kits = [lock_kit(pk) for pk in sorted(loan.kits.values_list("pk", flat=True))]
    out = [kit for kit in kits if kit.loan_id == loan.pk]
    changes = []
    if name != loan.name:
        changes.append(f"name “{name}”")
    if date != loan.date:
        changes.append(f"case date {loan.date:%Y-%m-%d} → {date:%Y-%m-%d}")
    if due_back != loan.due_back:
        changes.append(f"due back {loan.due_back:%Y-%m-%d} → {due_back:%Y-%m-%d}")
    moved = facility.pk != loan.facility_id
    devices = []
    if moved:
        changes.append(f"facility {loan.facility} → {facility}")
        if len(out) != len(kits):
            raise ValidationError({"facility": "Some of its kits are checked in already: the "
                                               "facility can't change any more."})
        devices = lock_devices(Device.objects.filter(kit__in=out).values_list("pk", flat=True))
        if DeviceMovement.objects.filter(
                organization_id=loan.organization_id, from_kit_id__in=[k.pk for k in out],
                kind=MovementKind.SOLD_AND_CONSUMED, from_status=DeviceStatus.LOANED,
                at__gte=loan.created_at).exists():
            raise ValidationError({"facility": f"Units of this loan were used on a case at "
                                               f"{loan.facility}: the facility can't change."})
        on_case = (EventLine.objects.filter(device__in=devices, event__status=EventStatus.DRAFT)
                   .select_related("event", "device__product").first())
        if on_case is not None:
            raise ValidationError({"facility": f"{on_case.device.label} is on {on_case.event}: "
                                               "take it off the case first."})
    if not changes:
        return loan
    loan.name, loan.date, loan.due_back, loan.facility = name, date, due_back, facility
    loan.save(update_fields=["name", "date", "due_back", "facility"])
    now = timezone.now()
    if moved:
        devices_transition(actor=actor, devices=devices, kind=MovementKind.KIT_LOAN_MOVED,
                           event=loan, at=now, status=DeviceStatus.LOANED, facility=facility)
    note = "; ".join(changes)
    for kit in out:
        if moved:
            kit.facility = facility
            kit.save(update_fields=["facility"])
        kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.LOAN_CHANGED, event=loan,
                         from_custodian_id=kit.custodian_id, to_custodian_id=kit.custodian_id,
                         facility_id=kit.facility_id, at=now,
                         units=sum(1 for d in devices if d.kit_id == kit.pk), note=note)
    return loan


@dataclass
class CheckIn:
    kit: Kit
    returned: list[Device]
    lost: list[Device]
    adjustment: StockAdjustment | None
    loan_closed: bool


@service_transaction
def kit_check_in(
    *, actor: User, kit: Kit, present: Sequence[Device], lost: Sequence[Device] = (),
    note: str = "",
) -> CheckIn:
    """Close a loaned kit's check-in: every unit still in it is either scanned back
    (``present``: loaned → available in the kit) or reported lost (``lost``: a stock adjustment,
    reason Lost; the unit leaves the kit). Units used on a case already left the kit. Any other
    unit is unaccounted for and nothing changes. When the loan's last kit is back, the loan
    closes."""
    loan_id = Kit.objects.filter(pk=kit.pk).values_list("loan_id", flat=True).first()
    if loan_id is None:
        # A second check-in that starts after the first committed: say what happened.
        last = (KitMovement.objects.filter(kit_id=kit.pk).order_by("-pk")
                .values_list("kind", flat=True).first())
        if last == KitMovement.Kind.CHECKED_IN:
            raise ValidationError(f"{kit} was already checked in.", code="checked_in")
        raise ValidationError(f"{kit} is not on loan: there is nothing to check in.",
                              code="not_loaned")
    loan = lock_event(Event(pk=loan_id))
    ensure_can_edit(actor, loan)
    kit = lock_kit(kit)
    if kit.status != Kit.Status.LOANED or kit.loan_id != loan.pk:
        raise ValidationError(f"{kit} was already checked in.", code="checked_in")
    present_ids = {d.pk for d in present}
    lost_ids = {d.pk for d in lost}
    members = [d for d in lock_devices(Device.objects.filter(kit=kit).values_list("pk", flat=True))
               if d.kit_id == kit.pk]  # as locked: a case may have used one meanwhile
    member_ids = {d.pk for d in members}
    errors = []
    if present_ids & lost_ids:
        errors.append("A unit can't be both back in the kit and lost.")
    strangers = (present_ids | lost_ids) - member_ids
    if strangers:
        for device in Device.objects.filter(pk__in=strangers).select_related("used_in"):
            if device.used_in_id:
                errors.append(f"{device.label} was used on {device.used_in} meanwhile: it is no "
                              "longer in the kit.")
            else:
                errors.append(f"{device.label} is not in {kit}.")
    unaccounted = [d for d in members if d.pk not in present_ids | lost_ids]
    if unaccounted:
        charged = {
            line.device_id: line.event for line in EventLine.objects.filter(
                device__in=unaccounted, event__status=EventStatus.DRAFT,
            ).select_related("event")
        }
        for device in unaccounted:
            if device.pk in charged:
                errors.append(f"{device.label} is charged to {charged[device.pk]}, not yet "
                              "submitted: submit the case, then check the kit in.")
            else:
                errors.append(f"{device.label} is unaccounted for: scan it back, charge it to a "
                              "case or report it lost.")
    if errors:
        raise ValidationError(errors, code="unaccounted")

    now = timezone.now()
    back = [d for d in members if d.pk in present_ids]
    gone = [d for d in members if d.pk in lost_ids]
    adjustment = None
    if gone:
        adjustment = StockAdjustment.objects.create(
            organization_id=kit.organization_id, reason=StockAdjustment.Reason.LOST,
            note=(f"Kit {kit.tag} check-in ({loan}). {note}").strip(), actor=actor,
        )
        StockAdjustmentLine.objects.bulk_create([
            StockAdjustmentLine(adjustment=adjustment, device=d,
                                effect=StockAdjustmentLine.Effect.REMOVE,
                                from_status=DeviceStatus.LOANED, to_status=DeviceStatus.REMOVED)
            for d in gone
        ])
        devices_transition(actor=actor, devices=gone, kind=MovementKind.ADJUSTMENT_REMOVED,
                           adjustment=adjustment, event=loan, at=now,
                           note=f"lost from kit {kit.tag}", status=DeviceStatus.REMOVED,
                           custodian=None, facility=None, kit=None)
    devices_transition(actor=actor, devices=back, kind=MovementKind.KIT_CHECKED_IN, event=loan,
                       at=now, status=DeviceStatus.AVAILABLE, facility=None)
    facility_id = kit.facility_id
    kit.status, kit.facility, kit.loan = Kit.Status.AVAILABLE, None, None
    kit.save(update_fields=["status", "facility", "loan"])
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.CHECKED_IN, event=loan,
                     from_custodian_id=kit.custodian_id, to_custodian_id=kit.custodian_id,
                     facility_id=facility_id, units=len(back), at=now,
                     note=f"{len(gone)} reported lost" if gone else "")
    closed = not Kit.objects.filter(loan=loan).exists()
    if closed:
        set_status(loan, EventStatus.CLOSED)
        loan.save(update_fields=["status"])
    return CheckIn(kit=kit, returned=back, lost=gone, adjustment=adjustment, loan_closed=closed)


def ensure_loan_writer(actor: User, loan: Event) -> None:
    if not loan.is_loan:
        raise ValidationError(f"{loan} is not a loan.")
    if not (actor.is_admin or actor.pk == loan.representative_id):
        raise PermissionDenied("Only the loan's rep or an admin can change it.")
