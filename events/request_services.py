"""Inventory requests for upcoming cases: a rep asks, an admin answers by sending units (a
transfer to the rep, accepted by the rep as any transfer) and refusing the rest with a reason.
Keyword-only functions, one transaction each; lock order: the event, the request, the devices
(by primary key, inside ``inventory.services.devices_transfer``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from core.db import service_transaction
from core.permissions import ensure_same_organization
from events.models import (
    Event,
    InventoryRequest,
    InventoryRequestLine,
    InventoryRequestStatus,
)
from events.request_models import REQUEST_TRANSITIONS
from events.services import ensure_can_edit, ensure_draft, lock_event
from inventory.kit_models import KitTemplate
from inventory.models import Device, DeviceStatus, Product
from inventory.services import devices_transfer

MAX_QUANTITY = 500


@service_transaction
def inventory_request_create(
    *,
    actor: User,
    event: Event,
    quantities: Sequence[tuple[Product, int]] = (),
    kit_template: KitTemplate | None = None,
    note: str = "",
    today: datetime.date | None = None,
) -> InventoryRequest:
    """Ask the office for products (and/or a kit template's content) for a draft case of today
    or later. Quantities of one product add up."""
    ensure_permission(actor, "request_inventory")
    today = today or timezone.localdate()
    event = lock_event(event)
    ensure_can_edit(actor, event)
    ensure_draft(event)
    ensure_same_organization(actor, kit_template, *(product for product, _ in quantities))
    if not event.is_case:
        raise ValidationError("Inventory is requested for a case.")
    if event.date < today:
        raise ValidationError(
            f"{event} was on {event.date:%d %b %Y}: request inventory for an upcoming case."
        )
    wanted: dict[int, int] = defaultdict(int)
    products: dict[int, Product] = {}
    for product, quantity in quantities:
        if quantity is None or quantity < 1:
            continue
        wanted[product.pk] += quantity
        products[product.pk] = product
    if kit_template is not None:
        for item in kit_template.items.select_related("product"):
            wanted[item.product_id] += item.quantity
            products[item.product_id] = item.product
    if not wanted:
        raise ValidationError("Choose at least one product and its quantity, or a kit.")
    too_many = [products[pid] for pid, qty in wanted.items() if qty > MAX_QUANTITY]
    if too_many:
        raise ValidationError(f"Ask for at most {MAX_QUANTITY} of {too_many[0].reference}.")
    request = InventoryRequest.objects.create(
        organization_id=event.organization_id,
        event=event,
        requested_by=actor,
        kit_template=kit_template,
        note=(note or "").strip()[:300],
    )
    InventoryRequestLine.objects.bulk_create(
        InventoryRequestLine(request=request, product_id=pid, quantity=qty)
        for pid, qty in sorted(wanted.items())
    )
    return request


def _next_status(lines: Iterable[InventoryRequestLine], refusing: bool) -> str:
    lines = list(lines)
    if all(line.fulfilled == line.quantity for line in lines):
        return InventoryRequestStatus.FULFILLED
    sent = any(line.fulfilled for line in lines)
    if refusing:
        return InventoryRequestStatus.CLOSED if sent else InventoryRequestStatus.REFUSED
    return InventoryRequestStatus.PARTIAL


@service_transaction
def inventory_request_answer(
    *,
    actor: User,
    request: InventoryRequest,
    devices: Sequence[Device] = (),
    refusal_reason: str = "",
    today: datetime.date | None = None,
) -> InventoryRequest:
    """Send ``devices`` to the case's rep (one transfer per current custodian, waiting for the
    rep to accept) and, with ``refusal_reason``, refuse what is still outstanding.

    Each device must be of a requested product still outstanding, AVAILABLE, loose (not in a
    kit), not in transit, not already the rep's, and not expired on the case's day.
    """
    ensure_permission(actor, "fulfil_requests")
    ensure_same_organization(actor, request)
    today = today or timezone.localdate()
    event = lock_event(request.event, "representative")
    request = InventoryRequest.objects.select_for_update(of=("self",), no_key=True).get(
        pk=request.pk
    )
    if not request.is_open:
        raise ValidationError(
            f"{request} was already answered "
            f"({InventoryRequestStatus(request.status).label.lower()})."
        )
    refusal_reason = " ".join((refusal_reason or "").split())[:300]
    if not devices and not refusal_reason:
        raise ValidationError("Pick the units to send, or give a reason to refuse the rest.")
    lines = {line.product_id: line for line in request.lines.select_related("product")}
    rep = event.representative
    errors = []
    picked: dict[int, int] = defaultdict(int)
    by_custodian: dict[int, list[Device]] = defaultdict(list)
    for device in sorted({d.pk: d for d in devices}.values(), key=lambda d: d.pk):
        ensure_same_organization(actor, device)
        line = lines.get(device.product_id)
        if line is None:
            errors.append(f"{device.label} is not a requested product.")
            continue
        picked[device.product_id] += 1
        if picked[device.product_id] > line.outstanding:
            errors.append(
                f"{line.product.reference}: {line.outstanding} still requested; "
                f"{picked[device.product_id]} picked."
            )
        elif device.status != DeviceStatus.AVAILABLE or device.kit_id:
            errors.append(f"{device.label} is not an available loose unit.")
        elif device.custodian_id == rep.pk:
            errors.append(f"{device.label} is already in {rep}'s custody.")
        elif device.expiration_date and device.expiration_date < max(event.date, today):
            errors.append(
                f"{device.label} expires on {device.expiration_date:%d %b %Y}, before the case."
            )
        by_custodian[device.custodian_id].append(device)
    if errors:
        raise ValidationError(sorted(set(errors)))
    for custodian_id in sorted(by_custodian):
        # The transfer locks the devices and re-checks them (in transit, moved meanwhile).
        transfer = devices_transfer(
            actor=actor, devices=by_custodian[custodian_id], to_custodian=rep, accept_now=False
        )
        request.transfers.add(transfer)
    for product_id, count in picked.items():
        line = lines[product_id]
        line.fulfilled += count
        line.save(update_fields=["fulfilled"])
    new_status = _next_status(lines.values(), refusing=bool(refusal_reason))
    if new_status not in REQUEST_TRANSITIONS[request.status]:
        raise ValidationError(f"{request} can't become {InventoryRequestStatus(new_status).label}.")
    request.status = new_status
    request.answered_by = actor
    request.answered_at = timezone.now()
    if refusal_reason and new_status != InventoryRequestStatus.FULFILLED:
        request.refusal_reason = refusal_reason
    request.save(update_fields=["status", "answered_by", "answered_at", "refusal_reason"])
    return request
