"""Every device state transition lives here. Each change writes one DeviceMovement.

All functions are keyword-only, run in one transaction, lock the device rows they change in
primary-key order, and raise ``ValidationError`` with a message a rep understands.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import User
from consignment.models import Facility
from core.db import service_transaction
from core.permissions import ensure_role, ensure_same_organization
from inventory.ledger import chain_movements, ledger_key
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    LedgerChainHead,
    MovementKind,
    Product,
    StockAdjustment,
    StockAdjustmentLine,
    Transfer,
)
from inventory.udi import udi_hri

LOT_MAX = Device._meta.get_field("lot").max_length
SERIAL_MAX = Device._meta.get_field("serial").max_length
DEVICE_FIELDS = ["status", "custodian", "facility", "sold_on", "used_in", "pending_transfer"]


def lock_devices(device_ids: Iterable[int]) -> list[Device]:
    """Lock device rows in primary-key order (no deadlocks) and return them, fresh.

    The lock is taken without joins, then the rows are read again: after waiting for another
    transaction PostgreSQL re-reads a locked row but not the rows joined to it, so a joined
    facility or custodian could be the one from before the wait.
    """
    ids = sorted(set(device_ids))
    list(Device.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
         .values_list("pk", flat=True))
    return list(
        Device.objects.filter(pk__in=ids)
        .select_related("product__product_line", "custodian", "facility", "sold_on")
        .order_by("pk")
    )


def record_movements(
    *,
    actor: User,
    kind: str,
    changes: Sequence[tuple[Device, dict]],
    event=None,
    transfer: Transfer | None = None,
    adjustment: StockAdjustment | None = None,
    note: str = "",
    at: datetime.datetime | None = None,
) -> list[DeviceMovement]:
    """Apply ``changes`` (device, previous state) to the database and write one ledger row each.

    ``previous`` holds status, custodian_id and facility_id as they were before the change; the
    device objects already carry their new state.
    """
    at = at or timezone.now()
    movements = [
        DeviceMovement(
            organization_id=device.organization_id,
            device=device,
            at=at,
            actor=actor,
            kind=kind,
            from_status=previous["status"],
            to_status=device.status,
            from_custodian_id=previous["custodian_id"],
            to_custodian_id=device.custodian_id,
            from_facility_id=previous["facility_id"],
            facility_id=device.facility_id,
            event=event,
            transfer=transfer,
            adjustment=adjustment,
            note=note,
        )
        for device, previous in changes
    ]
    devices_update(device for device, _ in changes)
    return ledger_append(movements)


def ledger_append(movements: list[DeviceMovement]) -> list[DeviceMovement]:
    """Write ``movements``, HMAC-chained after each organisation's ledger chain head (locked).

    Lock order: the callers hold the event and device rows already; the head comes next, and the
    document counter (events) after it.
    """
    key = ledger_key()
    by_org: dict[int, list[DeviceMovement]] = {}
    for movement in movements:
        by_org.setdefault(movement.organization_id, []).append(movement)
    for org_id in sorted(by_org):
        head = LedgerChainHead.objects.select_for_update().filter(organization_id=org_id).first()
        if head is None:  # the organisation's first movement
            LedgerChainHead.objects.bulk_create(
                [LedgerChainHead(organization_id=org_id)], ignore_conflicts=True
            )
            head = LedgerChainHead.objects.select_for_update().get(organization_id=org_id)
        head.last_seq, head.last_hash = chain_movements(
            by_org[org_id], head_seq=head.last_seq, head_hash=head.last_hash, key=key
        )
        head.save(update_fields=["last_seq", "last_hash"])
    return DeviceMovement.objects.bulk_create(movements)


def devices_update(devices: Iterable[Device]) -> None:
    """Write the devices' new state set-based: one UPDATE … WHERE id IN (…) per distinct state.

    A submission moves every device to the same state (or a few: facility stock sold by several
    stocking orders), so this is one or a few statements whatever the number of lines, instead
    of a CASE WHEN per row and field.
    """
    attnames = [Device._meta.get_field(name).attname for name in DEVICE_FIELDS]
    groups: dict[tuple, list[int]] = {}
    for device in devices:
        groups.setdefault(tuple(getattr(device, a) for a in attnames), []).append(device.pk)
    for state, pks in groups.items():
        Device.objects.filter(pk__in=pks).update(**dict(zip(attnames, state, strict=True)))


def snapshot(device: Device) -> dict:
    return {
        "status": device.status,
        "custodian_id": device.custodian_id,
        "facility_id": device.facility_id,
    }


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
    ensure_role(actor, User.Role.ADMIN, action="receive inventory")
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
    devices = Device.objects.bulk_create(
        [
            Device(
                organization_id=product.organization_id,
                product=product,
                serial=serial,
                lot=lot,
                expiration_date=expiration_date,
                udi=udi_hri(product.gtin, expiration_date, lot, serial),
                status=DeviceStatus.AVAILABLE,
                custodian=custodian,
                created_at=now,
            )
            for serial in serials
        ]
    )
    ledger_append(
        [
            DeviceMovement(
                organization_id=device.organization_id,
                device=device,
                at=now,
                actor=actor,
                kind=MovementKind.RECEIVED,
                from_status="",
                to_status=DeviceStatus.AVAILABLE,
                to_custodian=custodian,
            )
            for device in devices
        ]
    )
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
    ensure_role(actor, User.Role.ADMIN, User.Role.REP, action="transfer inventory")
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
        elif device.status != DeviceStatus.AVAILABLE:
            errors.append(
                f"{device.label} is {device.get_status_display().lower()} and can't be "
                "transferred."
            )
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
        for device in locked:
            device.pending_transfer = transfer
        Device.objects.filter(pk__in=[d.pk for d in locked]).update(pending_transfer=transfer)
    return transfer


def _apply_transfer(*, actor: User, transfer: Transfer, devices: list[Device]) -> None:
    changes = []
    for device in devices:
        previous = snapshot(device)
        device.custodian = transfer.to_custodian
        device.pending_transfer = None
        changes.append((device, previous))
    record_movements(
        actor=actor, kind=MovementKind.TRANSFERRED, changes=changes, transfer=transfer
    )


def can_answer(user: User, transfer: Transfer) -> bool:
    """Who may accept or decline a transfer in transit: its recipient or an admin (the transfer
    page shows the buttons by it; accepting and declining enforce it)."""
    return transfer.status == Transfer.Status.PENDING and (
        user.pk == transfer.to_custodian_id or user.is_admin
    )


def _lock_pending_transfer(actor: User, transfer: Transfer) -> tuple[Transfer, list[Device]]:
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
    devices = lock_devices(transfer.devices.values_list("pk", flat=True))
    return transfer, devices


@service_transaction
def transfer_accept(*, actor: User, transfer: Transfer) -> Transfer:
    """The recipient accepts: the devices change custody."""
    transfer, devices = _lock_pending_transfer(actor, transfer)
    moving = [d for d in devices if d.pending_transfer_id == transfer.pk]
    _apply_transfer(actor=actor, transfer=transfer, devices=moving)
    transfer.status = Transfer.Status.ACCEPTED
    transfer.decided_at = timezone.now()
    transfer.decided_by = actor
    transfer.save(update_fields=["status", "decided_at", "decided_by"])
    return transfer


@service_transaction
def transfer_decline(*, actor: User, transfer: Transfer, reason: str) -> Transfer:
    """The recipient declines, saying why: the devices stay with (return to) the sender."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why you decline this transfer.")
    transfer, devices = _lock_pending_transfer(actor, transfer)
    returning = [d for d in devices if d.pending_transfer_id == transfer.pk]
    for device in returning:
        device.pending_transfer = None
    Device.objects.filter(pk__in=[d.pk for d in returning]).update(pending_transfer=None)
    transfer.status = Transfer.Status.DECLINED
    transfer.decline_reason = reason
    transfer.decided_at = timezone.now()
    transfer.decided_by = actor
    transfer.save(update_fields=["status", "decline_reason", "decided_at", "decided_by"])
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
    ensure_role(actor, User.Role.ADMIN, action="adjust stock")
    if reason not in StockAdjustment.Reason.values:
        raise ValidationError("Choose a reason for the adjustment.")
    if not lines:
        raise ValidationError("Add at least one device to the adjustment.")
    if len({line.device.pk for line in lines}) != len(lines):
        raise ValidationError("A device appears twice in this adjustment.")
    for line in lines:
        ensure_same_organization(actor, line.to_facility, line.to_custodian)
        if line.to_custodian is not None:
            _require_custodian(actor, line.to_custodian)

    locked = {d.pk: d for d in lock_devices(line.device.pk for line in lines)}
    last_removals = {
        m.device_id: m
        for m in DeviceMovement.objects.filter(
            device_id__in=locked, kind=MovementKind.ADJUSTMENT_REMOVED
        ).order_by("at", "id")
    }
    Effect = StockAdjustmentLine.Effect
    errors, plans = [], []
    for line in lines:
        device = locked.get(line.device.pk)
        if device is None or device.organization_id != actor.organization_id:
            errors.append(f"{line.device.label} is not part of your organisation's inventory.")
            continue
        previous = snapshot(device)
        if line.effect == Effect.REMOVE:
            if device.status not in (DeviceStatus.AVAILABLE, DeviceStatus.FACILITY_STOCK):
                errors.append(f"{device.label} is {device.get_status_display().lower()}: "
                              "only active devices can be removed.")
                continue
            if device.pending_transfer_id:
                errors.append(f"{device.label} is in transit: answer the transfer first.")
                continue
            device.status = DeviceStatus.REMOVED
            device.custodian = None
            device.facility = None
            kind = MovementKind.ADJUSTMENT_REMOVED
        elif line.effect == Effect.RESTORE:
            if device.status != DeviceStatus.REMOVED:
                errors.append(f"{device.label} is {device.get_status_display().lower()}: "
                              "only removed devices can be restored.")
                continue
            removal = last_removals.get(device.pk)
            if device.sold_on_id:
                # Sold devices are never sellable again: they come back as facility stock.
                facility_id = (line.to_facility.pk if line.to_facility
                               else removal.from_facility_id if removal else None)
                if facility_id is None:
                    errors.append(f"{device.label} was sold: choose the facility to restore it to.")
                    continue
                device.status = DeviceStatus.FACILITY_STOCK
                device.facility_id = facility_id
            else:
                custodian_id = (line.to_custodian.pk if line.to_custodian
                                else removal.from_custodian_id if removal else None)
                if custodian_id is None:
                    errors.append(f"{device.label}: choose the custodian to restore it to.")
                    continue
                device.status = DeviceStatus.AVAILABLE
                device.custodian_id = custodian_id
            kind = MovementKind.ADJUSTMENT_RESTORED
        elif line.effect == Effect.MOVE_TO_FACILITY:
            if device.status != DeviceStatus.FACILITY_STOCK:
                errors.append(f"{device.label} is not facility stock: only facility stock can "
                              "be moved to another facility.")
                continue
            if line.to_facility is None:
                errors.append(f"{device.label}: choose the facility to move it to.")
                continue
            if line.to_facility.pk == device.facility_id:
                errors.append(f"{device.label} is already facility stock of {line.to_facility}.")
                continue
            device.facility = line.to_facility
            kind = MovementKind.ADJUSTMENT_MOVED
        else:
            errors.append(f"{device.label}: unknown effect {line.effect!r}.")
            continue
        plans.append((device, previous, line, kind))
    if errors:
        raise ValidationError(errors)

    adjustment = StockAdjustment.objects.create(
        organization_id=actor.organization_id, reason=reason, note=note.strip(), actor=actor
    )
    StockAdjustmentLine.objects.bulk_create(
        [
            StockAdjustmentLine(
                adjustment=adjustment, device=device, effect=line.effect,
                from_status=previous["status"], to_status=device.status,
                to_facility_id=device.facility_id if device.facility_id else None,
                to_custodian_id=device.custodian_id,
            )
            for device, previous, line, _ in plans
        ]
    )
    for kind in {k for *_, k in plans}:
        record_movements(
            actor=actor, kind=kind, adjustment=adjustment, note=note.strip(),
            changes=[(d, prev) for d, prev, _, k in plans if k == kind],
        )
    return adjustment
