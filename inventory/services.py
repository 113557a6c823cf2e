"""Receiving, transfers and stock adjustments: the inventory use cases.

Each moves devices through the lifecycle (``inventory.lifecycle``: the transition table, the one
function that checks a move, changes the device and writes its DeviceMovement). All functions are
keyword-only, run in one transaction, lock the device rows they change in primary-key order, and
raise ``ValidationError`` with a message a rep understands.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from consignment.models import Facility
from core.db import service_transaction
from core.outbox import OutboxKind, emit
from core.permissions import ensure_same_organization
from inventory.kit_moves import (
    kit_fill_complete,
    kit_transfer_complete,
    kit_transfer_declined,
    transfer_lock_kit,
)
from inventory.lifecycle import (
    check_can_leave,
    device_transition,
    devices_clear_in_transit,
    devices_set_in_transit,
    devices_transition,
    leave_problem,
    record_movements,
)
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    MovementKind,
    Product,
    RecallUnit,
    StockAdjustment,
    StockAdjustmentLine,
    Transfer,
)
from inventory.recall_services import devices_quarantine_received
from inventory.stock_alerts import facility_stock_pairs, stock_low_emit

LOT_MAX = Device._meta.get_field("lot").max_length
SERIAL_MAX = Device._meta.get_field("serial").max_length


def lock_devices(device_ids: Iterable[int]) -> list[Device]:
    """Lock device rows in primary-key order (no deadlocks) and return them, fresh: one query.

    The locking query returns the rows it locked (after waiting for another transaction
    PostgreSQL returns the row's new version) with their product and product line. Those two are
    joined safely because a device's product never changes: PostgreSQL re-checks a waited-for row
    against the joined rows it had read before the wait, so a join on a column that can change
    (custodian, facility) could drop the row or pair it with the custodian from before the wait.
    The custodians and facilities (only the rules' messages name them) are read after the lock,
    one query each, shared by the devices.
    """
    ids = sorted(set(device_ids))
    devices = list(
        Device.objects.select_for_update(of=("self",), no_key=True)
        .select_related("product__product_line")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    prefetch_related_objects(devices, "custodian", "facility", "kit")
    return devices


def _require_custodian(actor: User, custodian: User) -> None:
    ensure_same_organization(actor, custodian)
    if not custodian.is_active or custodian.role == User.Role.MANAGER:
        raise ValidationError(f"{custodian} can't hold inventory.", code="custodian")


# --- receiving ---------------------------------------------------------------------------------


@service_transaction
def devices_receive(
    *,
    actor: User,
    product: Product,
    lot: str,
    expiration_date: datetime.date,
    serials: Sequence[str],
    custodian: User,
    today: datetime.date | None = None,
) -> list[Device]:
    """Create AVAILABLE devices in ``custodian``'s custody, one per serial."""
    ensure_permission(actor, "receive_inventory")
    ensure_same_organization(actor, product)
    _require_custodian(actor, custodian)
    today = today or timezone.localdate()
    lot = (lot or "").strip()
    serials = [(s or "").strip() for s in serials]
    errors = []
    if not lot:
        errors.append("Enter the lot number.")
    if not serials:
        errors.append("Enter at least one serial number.")
    if any(not s for s in serials):
        errors.append("A serial number is empty.")
    if len(lot) > LOT_MAX:
        errors.append(f"The lot number is longer than {LOT_MAX} characters.")
    too_long = [s for s in serials if len(s) > SERIAL_MAX]
    if too_long:
        errors.append(f"{len(too_long)} serial number(s) are longer than {SERIAL_MAX} characters.")
    if errors:
        raise ValidationError(errors)  # before any query uses them
    if expiration_date < today:
        errors.append(
            f"Expiry {expiration_date:%Y-%m-%d} is in the past: expired devices can't be received."
        )
    seen, duplicates = set(), []
    for serial in serials:
        if serial in seen:
            duplicates.append(serial)
        seen.add(serial)
    if duplicates:
        errors.append("Serial numbers repeated in this receipt: " + ", ".join(duplicates) + ".")
    existing = set(
        Device.objects.filter(product=product, serial__in=serials).values_list("serial", flat=True)
    )
    if existing:
        errors.append(
            f"Already received for {product.reference}: "
            + ", ".join(f"SN {s}" for s in sorted(existing)) + "."
        )
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    changes = [
        device_transition(
            Device(
                organization_id=product.organization_id,
                product=product,
                serial=serial,
                lot=lot,
                expiration_date=expiration_date,
                udi=product.label_text(expiration_date, lot, serial),
                created_at=now,
            ),
            MovementKind.RECEIVED, custodian=custodian,
        )
        for serial in serials
    ]
    record_movements(actor=actor, changes=changes, at=now)
    devices = [change.device for change in changes]
    # Units in an open recall's scope are quarantined on receipt (a second movement each).
    devices_quarantine_received(actor=actor, devices=devices, at=now)
    return devices


# --- transfers ---------------------------------------------------------------------------------


@service_transaction
def devices_transfer(
    *,
    actor: User,
    devices: Sequence[Device],
    to_custodian: User,
    accept_now: bool | None = None,
) -> Transfer:
    """Move AVAILABLE devices to another custodian.

    An admin's transfer is accepted at once unless ``accept_now=False``; a rep's transfer waits
    for the recipient to accept (the devices are *in transit* until then).
    """
    ensure_permission(actor, "transfer_devices")
    _require_custodian(actor, to_custodian)
    if not devices:
        raise ValidationError("Choose at least one device to transfer.")
    if accept_now is None:
        accept_now = actor.role == User.Role.ADMIN
    if accept_now and actor.role != User.Role.ADMIN:
        raise PermissionDenied("Only an admin can make a transfer that is accepted at once.")

    locked = lock_devices(d.pk for d in devices)
    errors = []
    custodians = {d.custodian_id for d in locked}
    for device in locked:
        if device.organization_id != actor.organization_id:
            errors.append(f"{device.label} is not part of your organisation's inventory.")
        elif problem := leave_problem(device, MovementKind.TRANSFERRED):
            errors.append(problem)
        elif device.pending_transfer_id:
            errors.append(f"{device.label} is already in transit (transfer #"
                          f"{device.pending_transfer_id}).")
        elif device.custodian_id == to_custodian.pk:
            errors.append(f"{device.label} is already in {to_custodian}'s custody.")
        elif actor.role == User.Role.REP and device.custodian_id != actor.pk:
            errors.append(f"{device.label} is not in your custody.")
    if len(locked) != len({d.pk for d in devices}):
        errors.append("Some devices no longer exist.")
    if len(custodians) > 1:
        errors.append("A transfer moves devices from one custodian: these come from several.")
    if errors:
        raise ValidationError(errors)

    from_custodian = locked[0].custodian
    transfer = Transfer.objects.create(
        organization_id=actor.organization_id,
        from_custodian=from_custodian,
        to_custodian=to_custodian,
        actor=actor,
        status=Transfer.Status.ACCEPTED if accept_now else Transfer.Status.PENDING,
        decided_at=timezone.now() if accept_now else None,
        decided_by=actor if accept_now else None,
    )
    transfer.devices.set(locked)
    if accept_now:
        _apply_transfer(actor=actor, transfer=transfer, devices=locked)
    else:
        devices_set_in_transit(locked, transfer)
    return transfer


def _apply_transfer(*, actor: User, transfer: Transfer, devices: list[Device],
                    kit=None) -> None:
    """The devices change custody (AVAILABLE → AVAILABLE) and are no longer in transit; a kit
    transfer moves the kit with them, a refill packs them into its kit."""
    if transfer.kit_id:
        return kit_transfer_complete(actor=actor, transfer=transfer, kit=kit, devices=devices)
    if transfer.into_kit_id:
        return kit_fill_complete(actor=actor, transfer=transfer, kit=kit, devices=devices)
    devices_transition(
        actor=actor, devices=devices, kind=MovementKind.TRANSFERRED, transfer=transfer,
        custodian=transfer.to_custodian,
    )


def can_answer(user: User, transfer: Transfer) -> bool:
    """Who may accept or decline a transfer in transit: its recipient or an admin (the transfer
    page shows the buttons by it; accepting and declining enforce it)."""
    return transfer.status == Transfer.Status.PENDING and (
        user.pk == transfer.to_custodian_id or user.is_admin
    )


def _lock_pending_transfer(actor: User, transfer: Transfer):
    transfer = Transfer.objects.select_for_update(of=("self",), no_key=True).select_related(
        "to_custodian", "from_custodian"
    ).get(pk=transfer.pk)
    ensure_same_organization(actor, transfer)
    if transfer.status != Transfer.Status.PENDING:
        raise ValidationError(
            f"Transfer #{transfer.pk} was already {transfer.get_status_display().lower()}."
        )
    if not can_answer(actor, transfer):
        raise PermissionDenied("Only the recipient (or an admin) can answer this transfer.")
    kit = transfer_lock_kit(transfer)  # lock order: the kit before its devices
    devices = lock_devices(transfer.devices.values_list("pk", flat=True))
    return transfer, devices, kit


@service_transaction
def transfer_accept(*, actor: User, transfer: Transfer) -> Transfer:
    """The recipient accepts: the devices change custody."""
    transfer, devices, kit = _lock_pending_transfer(actor, transfer)
    moving = [d for d in devices if d.pending_transfer_id == transfer.pk]
    _apply_transfer(actor=actor, transfer=transfer, devices=moving, kit=kit)
    transfer.status = Transfer.Status.ACCEPTED
    transfer.decided_at = timezone.now()
    transfer.decided_by = actor
    transfer.save(update_fields=["status", "decided_at", "decided_by"])
    emit(kind=OutboxKind.TRANSFER_ANSWERED, organization_id=transfer.organization_id,
         payload={"id": transfer.pk})
    return transfer


@service_transaction
def transfer_decline(*, actor: User, transfer: Transfer, reason: str) -> Transfer:
    """The recipient declines, saying why: the devices stay with (return to) the sender."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why you decline this transfer.")
    transfer, devices, kit = _lock_pending_transfer(actor, transfer)
    devices_clear_in_transit([d for d in devices if d.pending_transfer_id == transfer.pk])
    transfer.status = Transfer.Status.DECLINED
    transfer.decline_reason = reason
    transfer.decided_at = timezone.now()
    transfer.decided_by = actor
    transfer.save(update_fields=["status", "decline_reason", "decided_at", "decided_by"])
    if transfer.kit_id:
        kit_transfer_declined(actor=actor, transfer=transfer, kit=kit)
    emit(kind=OutboxKind.TRANSFER_ANSWERED, organization_id=transfer.organization_id,
         payload={"id": transfer.pk})
    return transfer


def can_take_back(user: User, transfer: Transfer) -> bool:
    """Who may take back a transfer in transit: its sender (the custodian the devices leave, or
    whoever sent it). A kit transfer or a refill is answered by its recipient only."""
    return (
        transfer.status == Transfer.Status.PENDING
        and not transfer.kit_id and not transfer.into_kit_id
        and user.organization_id == transfer.organization_id
        and user.pk in (transfer.from_custodian_id, transfer.actor_id)
    )


@service_transaction
def transfer_take_back(*, actor: User, transfer: Transfer) -> Transfer:
    """The sender takes back a transfer still in transit: the devices stay in their custody and
    are no longer in transit (no custody changed, so no movement; the transfer records who took
    it back and when)."""
    ensure_permission(actor, "transfer_devices")
    transfer = Transfer.objects.select_for_update(of=("self",), no_key=True).select_related(
        "to_custodian", "from_custodian"
    ).get(pk=transfer.pk)
    ensure_same_organization(actor, transfer)
    if transfer.status != Transfer.Status.PENDING:
        raise ValidationError(
            f"Transfer #{transfer.pk} was already {transfer.get_status_display().lower()}: "
            "it can't be taken back."
        )
    if not can_take_back(actor, transfer):
        if transfer.kit_id or transfer.into_kit_id:
            raise ValidationError(
                f"Transfer #{transfer.pk} moves a kit: ask {transfer.to_custodian} to decline it."
            )
        raise PermissionDenied("Only the sender can take back this transfer.")
    devices = lock_devices(transfer.devices.values_list("pk", flat=True))
    devices_clear_in_transit([d for d in devices if d.pending_transfer_id == transfer.pk])
    transfer.status = Transfer.Status.TAKEN_BACK
    transfer.decided_at = timezone.now()
    transfer.decided_by = actor
    transfer.save(update_fields=["status", "decided_at", "decided_by"])
    emit(kind=OutboxKind.TRANSFER_ANSWERED, organization_id=transfer.organization_id,
         payload={"id": transfer.pk})
    return transfer


# --- stock adjustments -------------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustmentLine:
    """One device and what the adjustment does to it.

    ``restore`` puts a removed device back where it was (facility stock if it had been sold,
    else available to its last custodian) unless ``to_facility``/``to_custodian`` say otherwise.
    """

    device: Device
    effect: str  # StockAdjustmentLine.Effect
    to_facility: Facility | None = None
    to_custodian: User | None = None


@service_transaction
def stock_adjustment_create(
    *,
    actor: User,
    reason: str,
    lines: Sequence[AdjustmentLine],
    note: str = "",
) -> StockAdjustment:
    """Apply a Stock Adjustment to rep inventory or facility stock; one ledger row per line."""
    ensure_permission(actor, "adjust_stock")
    if reason not in StockAdjustment.Reason.values:
        raise ValidationError("Choose a reason for the adjustment.")
    if not lines:
        raise ValidationError("Add at least one device to the adjustment.")
    mismatch = reason_effect_problem(reason, {line.effect for line in lines})
    if mismatch:
        raise ValidationError({"effect": mismatch})
    if len({line.device.pk for line in lines}) != len(lines):
        raise ValidationError("A device appears twice in this adjustment.")
    for line in lines:
        ensure_same_organization(actor, line.to_facility, line.to_custodian)
        if line.to_custodian is not None:
            _require_custodian(actor, line.to_custodian)

    locked = {d.pk: d for d in lock_devices(line.device.pk for line in lines)}
    today = timezone.localdate()
    # Before the lifecycle changes them: which of them are facility stock, and where.
    stock_before = facility_stock_pairs(
        [d for d in locked.values() if d.organization_id == actor.organization_id], today=today)
    last_removals = {
        m.device_id: m
        for m in DeviceMovement.objects.filter(
            device_id__in=locked, kind=MovementKind.ADJUSTMENT_REMOVED
        ).order_by("at", "id")
    }
    recalled = dict(list(  # reversed: the earliest recall of a device wins
        RecallUnit.objects.filter(device_id__in=locked).order_by("recall__opened_at", "recall_id")
        .values_list("device_id", "recall__reference")
    )[::-1])
    errors, plans = [], []
    for line in lines:
        device = locked.get(line.device.pk)
        if device is None or device.organization_id != actor.organization_id:
            errors.append(f"{line.device.label} is not part of your organisation's inventory.")
            continue
        if problem := _recalled_problem(device, line, reason, recalled.get(device.pk)):
            errors.append(problem)
            continue
        kind = ADJUSTMENT_KINDS.get(line.effect)
        if kind is None:
            errors.append(f"{device.label}: unknown effect {line.effect!r}.")
            continue
        try:
            check_can_leave(device, kind)
            target = _adjustment_target(device, line, last_removals.get(device.pk))
            plans.append((device_transition(device, kind, **target), line))
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)

    adjustment = StockAdjustment.objects.create(
        organization_id=actor.organization_id, reason=reason, note=note.strip(), actor=actor
    )
    StockAdjustmentLine.objects.bulk_create(
        [
            StockAdjustmentLine(
                adjustment=adjustment, device=change.device, effect=line.effect,
                from_status=change.previous.status, to_status=change.device.status,
                to_facility_id=change.device.facility_id,
                to_custodian_id=change.device.custodian_id,
            )
            for change, line in plans
        ]
    )
    record_movements(actor=actor, changes=[change for change, _ in plans],
                     adjustment=adjustment, note=note.strip())
    stock_low_emit(organization_id=actor.organization_id, before=stock_before,
                   devices=[change.device for change, _ in plans], today=today,
                   cause={"adjustment": adjustment.pk})
    return adjustment


# A recalled unit leaves the books only as returned to the manufacturer or destroyed.
RECALL_REASONS = (StockAdjustment.Reason.RETURNED, StockAdjustment.Reason.DESTROYED)


def _recalled_problem(device: Device, line: AdjustmentLine, reason: str,
                      reference: str | None) -> str | None:
    """A quarantined unit is removed only as returned to the manufacturer or destroyed; a unit
    a recall took is never restored."""
    if reference is None:
        return None
    if line.effect == StockAdjustmentLine.Effect.RESTORE:
        return (f"{device.label} was recalled (recall {reference}) and can't be restored to "
                "inventory.")
    if device.status == DeviceStatus.QUARANTINED and (
        line.effect != StockAdjustmentLine.Effect.REMOVE or reason not in RECALL_REASONS
    ):
        return (f"{device.label} is quarantined under recall {reference}: it leaves inventory "
                "only as “Returned to manufacturer” or “Destroyed”.")
    return None


# Each effect of an adjustment line is one movement kind; the lifecycle table says from which
# statuses it may start and where it may lead.
ADJUSTMENT_KINDS = {
    StockAdjustmentLine.Effect.REMOVE: MovementKind.ADJUSTMENT_REMOVED,
    StockAdjustmentLine.Effect.RESTORE: MovementKind.ADJUSTMENT_RESTORED,
    StockAdjustmentLine.Effect.MOVE_TO_FACILITY: MovementKind.ADJUSTMENT_MOVED,
}


# Which effects each reason may have: a reason that says what happened to a unit ("Lost",
# "Found") allows only the effect that matches it, so that "Found" + "Remove" is refused. A
# cycle count or a facility correction may go either way.
_Effect = StockAdjustmentLine.Effect
_Reason = StockAdjustment.Reason
REASON_EFFECTS: dict[str, frozenset[str]] = {
    _Reason.CYCLE_COUNT: frozenset(_Effect.values),
    _Reason.LOST: frozenset({_Effect.REMOVE}),
    _Reason.DAMAGED: frozenset({_Effect.REMOVE}),
    _Reason.EXPIRED: frozenset({_Effect.REMOVE}),
    _Reason.FOUND: frozenset({_Effect.RESTORE}),
    _Reason.RETURNED: frozenset({_Effect.REMOVE}),
    _Reason.DESTROYED: frozenset({_Effect.REMOVE}),
    _Reason.FACILITY_CORRECTION: frozenset(_Effect.values),
}


def reason_effect_problem(reason: str, effects: Iterable[str]) -> str:
    """Why ``reason`` contradicts one of ``effects`` (a message for the person adjusting), or
    "" when they agree. Unknown effects are left to the line checks."""
    allowed = REASON_EFFECTS.get(reason, frozenset())
    wrong = sorted(e for e in set(effects) if e in _Effect.values and e not in allowed)
    if not wrong:
        return ""
    reason_label = _Reason(reason).label
    fits = " or ".join(f"“{_Effect(e).label}”" for e in _Effect.values if e in allowed)
    said = " and ".join(f"“{_Effect(e).label}”" for e in wrong)
    return (f"The reason “{reason_label}” contradicts the effect {said}: with this reason the "
            f"effect must be {fits}. Choose the matching effect, or the reason "
            f"“{_Reason.CYCLE_COUNT.label}” if the count simply differs.")


def _adjustment_target(device: Device, line: AdjustmentLine, removal: DeviceMovement | None
                       ) -> dict:
    """Where a line's effect puts ``device`` (``device_transition`` checks the move)."""
    Effect = StockAdjustmentLine.Effect
    if line.effect == Effect.REMOVE:
        return {}  # the table's row clears custodian and facility (and a lost unit's kit)
    if line.effect == Effect.MOVE_TO_FACILITY:
        if line.to_facility is None:
            raise ValidationError(f"{device.label}: choose the facility to move it to.")
        return {"facility": line.to_facility}
    # Restore: back where it was before its last removal, unless the line says where.
    if device.sold_on_id:
        # Sold devices are never sellable again: they come back as facility stock.
        facility_id = (line.to_facility.pk if line.to_facility
                       else removal.from_facility_id if removal else None)
        if facility_id is None:
            raise ValidationError(f"{device.label} was sold: choose the facility to restore it to.")
        return {"status": DeviceStatus.FACILITY_STOCK, "facility_id": facility_id}
    custodian_id = (line.to_custodian.pk if line.to_custodian
                    else removal.from_custodian_id if removal else None)
    if custodian_id is None:
        raise ValidationError(f"{device.label}: choose the custodian to restore it to.")
    return {"status": DeviceStatus.AVAILABLE, "custodian_id": custodian_id}
