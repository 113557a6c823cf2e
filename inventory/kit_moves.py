"""How a kit moves: its lock, its own ledger row, and the answer to a transfer that carries a kit
(the kit and every unit in it) or refills one (units packed into it).

``inventory.services`` (accepting and declining transfers) and ``inventory.kit_services`` (the
kit use cases) both use it; it uses only the models and the lifecycle.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from inventory.lifecycle import devices_transition, kit_ledger_append
from inventory.models import Device, Kit, KitMovement, MovementKind, Transfer


def lock_kit(kit: Kit | int) -> Kit:
    """Lock the kit row alone (FOR NO KEY UPDATE), fresh. Lock order: event, kit, devices."""
    pk = kit if isinstance(kit, int) else kit.pk
    return (Kit.objects.select_for_update(of=("self",), no_key=True)
            .select_related("template", "custodian", "facility").get(pk=pk))


def kit_movement_add(
    *, actor: User, kit: Kit, kind: str, from_custodian_id=None, to_custodian_id=None,
    facility_id=None, event=None, transfer=None, units: int = 0, note: str = "",
    at: datetime.datetime | None = None,
) -> KitMovement:
    """The kit's own ledger row (append-only on PostgreSQL), HMAC-chained on the
    organisation's ledger chain: write it after the kit's devices are locked (and moved)."""
    return kit_ledger_append(KitMovement(
        organization_id=kit.organization_id, kit=kit, at=at or timezone.now(), actor=actor,
        kind=kind, from_custodian_id=from_custodian_id, to_custodian_id=to_custodian_id,
        facility_id=facility_id, event=event, transfer=transfer, units=units, note=note,
    ))


def transfer_lock_kit(transfer: Transfer) -> Kit | None:
    """The kit a transfer carries or refills, locked (before its devices), or None."""
    kit_id = transfer.kit_id or transfer.into_kit_id
    return lock_kit(kit_id) if kit_id else None


def kit_transfer_complete(*, actor: User, transfer: Transfer, kit: Kit,
                          devices: Sequence[Device]) -> None:
    """A kit transfer is accepted: the kit and every unit in it change custody, one movement
    per unit plus the kit's own."""
    if kit.pending_transfer_id != transfer.pk:
        raise ValidationError(f"{kit} is no longer travelling on transfer #{transfer.pk}.")
    devices_transition(actor=actor, devices=devices, kind=MovementKind.KIT_TRANSFERRED,
                       transfer=transfer, custodian=transfer.to_custodian)
    previous = kit.custodian_id
    kit.custodian = transfer.to_custodian
    kit.status = Kit.Status.AVAILABLE
    kit.pending_transfer = None
    kit.save(update_fields=["custodian", "status", "pending_transfer"])
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.TRANSFERRED,
                     from_custodian_id=previous, to_custodian_id=kit.custodian_id,
                     transfer=transfer, units=len(devices))


def kit_transfer_declined(*, actor: User, transfer: Transfer, kit: Kit) -> None:
    """A kit transfer is declined: the kit stays with the sender."""
    if kit.pending_transfer_id == transfer.pk:
        kit.status = Kit.Status.AVAILABLE
        kit.pending_transfer = None
        kit.save(update_fields=["status", "pending_transfer"])
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.TRANSFER_DECLINED,
                     from_custodian_id=transfer.from_custodian_id,
                     to_custodian_id=transfer.from_custodian_id, transfer=transfer,
                     note=transfer.decline_reason)


def kit_fill_complete(*, actor: User, transfer: Transfer, kit: Kit,
                      devices: Sequence[Device]) -> None:
    """A refill is accepted: the units come to the kit's custodian (if they were someone
    else's) and are packed into the kit."""
    if kit.status != Kit.Status.AVAILABLE or kit.custodian_id != transfer.to_custodian_id:
        raise ValidationError(
            f"{kit} is {kit.get_status_display().lower()} or changed hands: accept its refill "
            "when it is back in the recipient's custody."
        )
    if transfer.from_custodian_id != transfer.to_custodian_id:
        devices_transition(actor=actor, devices=devices, kind=MovementKind.TRANSFERRED,
                           transfer=transfer, custodian=transfer.to_custodian)
    devices_transition(actor=actor, devices=devices, kind=MovementKind.KIT_PACKED,
                       transfer=transfer, kit=kit, note=f"kit {kit.tag}")
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.PACKED,
                     from_custodian_id=transfer.from_custodian_id,
                     to_custodian_id=kit.custodian_id, transfer=transfer, units=len(devices),
                     note="refill")
