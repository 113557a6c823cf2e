"""Recalls in inventory: opening a recall quarantines every active unit in its scope, and a unit
received later in an open recall's scope is quarantined on receipt.

Both go through the lifecycle (``inventory.lifecycle``: one ``QUARANTINED`` movement per unit,
chained) and record a ``RecallUnit`` per unit with its holder at the time. The units come back
through the paths that already exist — a Return (``events.policy.return_problem`` accepts
quarantined facility stock; billing's submit moves it to REMOVED and credits the sale) or a stock
adjustment (``inventory.services.stock_adjustment_create``, reasons "Returned to manufacturer" or
"Destroyed"). The letters, acknowledgements and closing are the ``recalls`` app's.

Opening is set-based: the units in scope are read and locked in one query (primary-key order,
the global lock order), moved in memory, and written with one UPDATE, one ledger INSERT and one
RecallUnit INSERT, so a lot of 1,000 units opens in well under the 2 s budget at a million
devices (docs/benchmarks.md, "Recalls").
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from core.db import bulk_insert, service_transaction
from core.outbox import OutboxKind, emit
from core.permissions import ensure_same_organization
from inventory.lifecycle import device_transition, record_movements
from inventory.models import (
    Device,
    DeviceStatus,
    Manufacturer,
    MovementKind,
    Product,
    Recall,
    RecallHolder,
    RecallScope,
    RecallStatus,
    RecallUnit,
)

# The statuses a recall takes (active units) and those it lists without moving (quarantined by
# an earlier recall that is still being carried out).
QUARANTINABLE = (DeviceStatus.AVAILABLE, DeviceStatus.FACILITY_STOCK, DeviceStatus.LOANED)
NOTICE_MAX_BYTES = 10 * 1024 * 1024


def _clean_scope(
    *,
    scope: str,
    lots: Sequence[str],
    product: Product | None,
    serial_from: str,
    serial_to: str,
    expiry_from,
    expiry_to,
    manufacturer: Manufacturer,
) -> dict:
    """The scope's fields, checked: what a person reads when it is incomplete."""
    errors = []
    lots = list(dict.fromkeys(lot.strip() for lot in lots if lot and lot.strip()))
    serial_from, serial_to = (serial_from or "").strip(), (serial_to or "").strip()
    if product is not None and product.product_line.manufacturer_id != manufacturer.pk:
        errors.append(f"{product.reference} is not made by {manufacturer}.")
    if scope == RecallScope.LOTS:
        if not lots:
            errors.append("Enter at least one lot number.")
        if any(len(lot) > 64 for lot in lots):
            errors.append("A lot number is longer than 64 characters.")
        return_fields = {"lots": lots}
    elif scope == RecallScope.SERIAL_RANGE:
        if not serial_from or not serial_to:
            errors.append("Enter the first and the last serial number of the range.")
        elif len(serial_from) != len(serial_to) or serial_from > serial_to:
            errors.append(
                "The first and last serial numbers must have the same length, the "
                "first sorting before the last (e.g. 0100 to 0199)."
            )
        if len(serial_from) > 64 or len(serial_to) > 64:
            errors.append("A serial number is longer than 64 characters.")
        return_fields = {"serial_from": serial_from, "serial_to": serial_to}
    elif scope == RecallScope.PRODUCT_EXPIRY:
        if product is None:
            errors.append("Choose the recalled product.")
        if expiry_from is None or expiry_to is None:
            errors.append("Enter the expiry window (from and to).")
        elif expiry_from > expiry_to:
            errors.append("The expiry window ends before it starts.")
        return_fields = {"expiry_from": expiry_from, "expiry_to": expiry_to}
    else:
        errors.append(
            "Choose the recall's scope: lots, a serial range, or a product and an expiry window."
        )
        return_fields = {}
    if errors:
        raise ValidationError(errors)
    return {"scope": scope, "product": product, **return_fields}


def _holders(devices: Sequence[Device]) -> dict[int, str]:
    """Each custodian's holder kind: a rep, or the warehouse (an admin holding stock)."""
    ids = {d.custodian_id for d in devices if d.custodian_id}
    reps = set(User.objects.filter(pk__in=ids, role=User.Role.REP).values_list("pk", flat=True))
    return {pk: RecallHolder.REP if pk in reps else RecallHolder.WAREHOUSE for pk in ids}


def _quarantine(*, actor: User, recall: Recall, devices: Sequence[Device], at) -> list[RecallUnit]:
    """Quarantine the active ``devices`` (locked by the caller) through the lifecycle and record
    a RecallUnit for each, quarantined ones included (listed, not moved again)."""
    holders = _holders(devices)
    units, changes = [], []
    for device in devices:
        units.append(
            RecallUnit(
                organization_id=recall.organization_id,
                recall_id=recall.pk,
                device_id=device.pk,
                holder=holders[device.custodian_id]
                if device.custodian_id
                else RecallHolder.FACILITY,
                from_status=device.status,
                custodian_id=device.custodian_id,
                facility_id=device.facility_id,
                kit_id=device.kit_id,
                in_transit=device.pending_transfer_id is not None,
                quarantined_at=at,
            )
        )
        if device.status != DeviceStatus.QUARANTINED:
            changes.append(device_transition(device, MovementKind.QUARANTINED))
    if changes:
        record_movements(actor=actor, changes=changes, at=at, note=f"recall {recall.reference}")
    return bulk_insert(units)


@service_transaction
def recall_open(
    *,
    actor: User,
    manufacturer: Manufacturer,
    reference: str,
    reason: str,
    recall_class: str,
    action: str,
    scope: str,
    lots: Sequence[str] = (),
    product: Product | None = None,
    serial_from: str = "",
    serial_to: str = "",
    expiry_from: datetime.date | None = None,
    expiry_to: datetime.date | None = None,
    notice: UploadedFile | None = None,
) -> Recall:
    """Record a manufacturer's recall and quarantine every active unit in its scope: in a rep's
    or the warehouse's custody, in transit (the transit ends), in a kit, on loan, or facility
    stock. One chained QUARANTINED movement per unit; a unit already quarantined by another open
    recall is listed too. Emits ``device.recalled`` (webhooks, after commit)."""
    ensure_permission(actor, "manage_recalls")
    ensure_same_organization(actor, manufacturer, product)
    reference, reason = (reference or "").strip(), (reason or "").strip()
    errors = []
    if not reference:
        errors.append("Enter the recall's reference (the manufacturer's recall number).")
    elif len(reference) > 64:
        errors.append("The reference is longer than 64 characters.")
    if not reason:
        errors.append("Enter the reason for the recall.")
    if recall_class not in Recall.Class.values:
        errors.append("Choose the recall's class (I, II or III).")
    if action not in Recall.Action.values:
        errors.append("Choose the action: return, destroy or inspect.")
    if notice is not None and notice.size > NOTICE_MAX_BYTES:
        errors.append("The notice PDF is larger than 10 MB.")
    if errors:
        raise ValidationError(errors)
    fields = _clean_scope(
        scope=scope,
        lots=lots,
        product=product,
        serial_from=serial_from,
        serial_to=serial_to,
        expiry_from=expiry_from,
        expiry_to=expiry_to,
        manufacturer=manufacturer,
    )
    if Recall.objects.filter(organization_id=actor.organization_id, reference=reference).exists():
        raise ValidationError(f"Recall {reference} is already recorded.", code="duplicate")

    at = timezone.now()
    recall = Recall(
        organization_id=actor.organization_id,
        manufacturer=manufacturer,
        reference=reference,
        reason=reason,
        recall_class=recall_class,
        action=action,
        opened_at=at,
        opened_by=actor,
        **fields,
    )
    if notice is not None:
        recall.notice.save(notice.name.rsplit("/", 1)[-1][:80] or "notice.pdf", notice, save=False)
    recall.save()
    # Lock the units in scope in primary-key order (the global order), fresh: a unit a racing
    # case consumed first is no longer active and drops out (PostgreSQL re-checks the filter).
    devices = list(
        Device.objects.select_for_update(of=("self",), no_key=True)
        .filter(recall.scope_q(), status__in=(*QUARANTINABLE, DeviceStatus.QUARANTINED))
        .order_by("pk")
    )
    units = _quarantine(actor=actor, recall=recall, devices=devices, at=at)
    emit(
        kind=OutboxKind.DEVICE_RECALLED,
        organization_id=recall.organization_id,
        payload={
            "id": recall.pk,
            "reference": recall.reference,
            "manufacturer": manufacturer.name,
            "class": recall.recall_class,
            "action": recall.action,
            "scope": recall.scope_text,
            "reason": recall.reason,
            "devices": [
                {
                    "id": d.pk,
                    "serial": d.serial,
                    "lot": d.lot,
                    "expiration_date": d.expiration_date.isoformat(),
                }
                for d in devices
            ],
            "quarantined": len(units),
        },
    )
    return recall


def open_recalls_covering(devices: Sequence[Device]) -> dict[int, Recall]:
    """For each device (being received, with its product loaded) the first open recall whose
    scope covers it."""
    if not devices:
        return {}
    org_ids = {d.organization_id for d in devices}
    makers = {d.pk: d.product.product_line.manufacturer_id for d in devices}
    recalls = list(
        Recall.objects.filter(
            organization_id__in=org_ids,
            status=RecallStatus.OPEN,
            manufacturer_id__in=set(makers.values()),
        ).order_by("opened_at", "pk")
    )
    found = {}
    for device in devices:
        for recall in recalls:
            if recall.covers(device, makers[device.pk]):
                found[device.pk] = recall
                break
    return found


def devices_quarantine_received(*, actor: User, devices: Sequence[Device], at=None) -> int:
    """Units just received (in the caller's transaction, locked by being new) that fall in an
    open recall's scope are quarantined at once. Returns how many."""
    covering = open_recalls_covering(devices)
    at = at or timezone.now()
    by_recall: dict[int, tuple[Recall, list[Device]]] = {}
    for device in devices:
        recall = covering.get(device.pk)
        if recall is not None:
            by_recall.setdefault(recall.pk, (recall, []))[1].append(device)
    for recall, taken in by_recall.values():
        _quarantine(actor=actor, recall=recall, devices=taken, at=at)
    return sum(len(taken) for _, taken in by_recall.values())


def recall_of(device: Device) -> Recall | None:
    """The earliest recall that holds ``device`` (for messages and pages)."""
    unit = (
        RecallUnit.objects.filter(device_id=device.pk)
        .select_related("recall")
        .order_by("recall__opened_at", "recall_id")
        .first()
    )
    return unit.recall if unit else None
