"""Kit use cases: templates (and their CSV import), building a kit, taking a unit out, moving a
kit as one (transfer), and refilling it. Keyword-only functions, one transaction each; lock
order: kit, then devices by primary key, then the ledger head. Rule violations raise
``ValidationError`` with a message a rep understands.

Loans and check-ins (events) are in ``events.loan_services``.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from core.db import service_transaction
from core.permissions import ensure_same_organization
from inventory.kit_moves import kit_movement_add, lock_kit
from inventory.kit_selectors import kit_contents
from inventory.lifecycle import devices_set_in_transit, devices_transition, leave_problem
from inventory.models import (
    Device,
    DeviceStatus,
    Kit,
    KitMovement,
    KitTemplate,
    KitTemplateItem,
    MovementKind,
    Product,
    ProductLine,
    Transfer,
)
from inventory.selectors import pick_per_product, sellable_devices
from inventory.services import _apply_transfer, _require_custodian, lock_devices

TAG_MAX = Kit._meta.get_field("tag").max_length
NOTES_MAX = 2000
NAME_MAX = KitTemplate._meta.get_field("name").max_length
QUANTITY_MAX = 500


# --- templates (admins) --------------------------------------------------------------------------


def _template_items(actor: User, product_line: ProductLine,
                    items: Sequence[tuple[Product, int]]) -> list[tuple[Product, int]]:
    errors, seen = [], set()
    if not items:
        errors.append("Add at least one product to the template.")
    for product, quantity in items:
        ensure_same_organization(actor, product)
        if product.pk in seen:
            errors.append(f"{product.reference} is listed twice.")
        seen.add(product.pk)
        if product.product_line_id != product_line.pk:
            errors.append(f"{product.reference} is not in {product_line}.")
        if not isinstance(quantity, int) or not 1 <= quantity <= QUANTITY_MAX:
            errors.append(f"{product.reference}: the quantity must be a whole number from 1 to "
                          f"{QUANTITY_MAX}.")
    if errors:
        raise ValidationError(errors)
    return list(items)


@service_transaction
def kit_template_create(*, actor: User, name: str, product_line: ProductLine,
                        items: Sequence[tuple[Product, int]]) -> KitTemplate:
    """A named set definition for a product line: its products and required quantities."""
    ensure_permission(actor, "manage_kit_templates")
    ensure_same_organization(actor, product_line)
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationError({"name": f"Enter a name of at most {NAME_MAX} characters."})
    if KitTemplate.objects.filter(organization_id=actor.organization_id,
                                  name__iexact=name).exists():
        raise ValidationError({"name": f"A kit template named {name} already exists."})
    items = _template_items(actor, product_line, items)
    template = KitTemplate.objects.create(organization_id=actor.organization_id, name=name,
                                          product_line=product_line)
    KitTemplateItem.objects.bulk_create(
        [KitTemplateItem(template=template, product=p, quantity=q) for p, q in items]
    )
    return template


@service_transaction
def kit_template_set_items(*, actor: User, template: KitTemplate,
                           items: Sequence[tuple[Product, int]]) -> KitTemplate:
    """Replace a template's items (kits built from it are measured against the new list)."""
    ensure_permission(actor, "manage_kit_templates")
    ensure_same_organization(actor, template)
    template = KitTemplate.objects.select_for_update(no_key=True).select_related(
        "product_line").get(pk=template.pk)
    items = _template_items(actor, template.product_line, items)
    template.items.all().delete()
    KitTemplateItem.objects.bulk_create(
        [KitTemplateItem(template=template, product=p, quantity=q) for p, q in items]
    )
    return template


def template_rows_from_csv(*, actor: User, data: str | bytes) -> list[tuple[Product, int]]:
    """Read ``reference,quantity`` rows (a header row; the reference may be a GTIN instead);
    every bad row is reported by its line number, and nothing is created."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("The file is not UTF-8 text (save it as CSV UTF-8).") from None
    reader = csv.DictReader(io.StringIO(data))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "quantity" not in fields or not ({"reference", "gtin"} & set(fields)):
        raise ValidationError("The CSV needs a header with reference (or gtin) and quantity.")
    reader.fieldnames = fields
    rows, errors, keys = [], [], []
    for number, row in enumerate(reader, start=2):
        key = (row.get("reference") or row.get("gtin") or "").strip()
        raw = (row.get("quantity") or "").strip()
        if not key and not raw:
            continue
        if not raw.isdigit():
            errors.append(f"Line {number}: quantity {raw!r} is not a whole number.")
            continue
        rows.append((number, key, int(raw)))
        keys.append(key)
        if len(rows) > 1000:
            raise ValidationError("A template has at most 1,000 rows.")
    products = {
        p.reference.upper(): p for p in Product.objects.filter(
            Q(reference__in=keys) | Q(gtin__in=keys), organization_id=actor.organization_id)
    }
    by_gtin = {p.gtin: p for p in products.values()}
    items = []
    for number, key, quantity in rows:
        product = products.get(key.upper()) or by_gtin.get(key)
        if product is None:
            errors.append(f"Line {number}: no product {key!r} in your catalogue.")
            continue
        items.append((product, quantity))
    if errors:
        raise ValidationError(errors)
    return items


@service_transaction
def kit_template_import_csv(*, actor: User, name: str, product_line: ProductLine,
                            data: str | bytes) -> KitTemplate:
    """A template from a CSV file (``reference,quantity``): all rows or none."""
    ensure_permission(actor, "manage_kit_templates")
    items = template_rows_from_csv(actor=actor, data=data)
    return kit_template_create(actor=actor, name=name, product_line=product_line, items=items)


# --- building a kit ------------------------------------------------------------------------------


def _ensure_kit_writer(actor: User, kit: Kit) -> None:
    ensure_permission(actor, "manage_kits")
    ensure_same_organization(actor, kit)
    if actor.role == User.Role.REP and kit.custodian_id != actor.pk:
        raise PermissionDenied(f"{kit} is in {kit.custodian}'s custody, not yours.")


def _ensure_home(kit: Kit, what: str) -> None:
    if kit.status != Kit.Status.AVAILABLE:
        raise ValidationError(
            f"{kit} is {kit.get_status_display().lower()}: {what} when it is back.",
            code="kit_away",
        )


@service_transaction
def kit_create(*, actor: User, template: KitTemplate, tag: str, custodian: User,
               devices: Sequence[Device] = (), today: datetime.date | None = None) -> Kit:
    """A kit with its own tag, in ``custodian``'s custody, built from their units."""
    ensure_permission(actor, "manage_kits")
    ensure_same_organization(actor, template, custodian)
    if actor.role == User.Role.REP and custodian.pk != actor.pk:
        raise PermissionDenied("A rep builds kits in their own custody.")
    if not custodian.is_active or custodian.role == User.Role.MANAGER:
        raise ValidationError({"custodian": f"{custodian} can't hold inventory."})
    tag = _clean_tag(tag)
    if Kit.objects.filter(organization_id=actor.organization_id, tag__iexact=tag).exists():
        raise ValidationError({"tag": f"Kit tag {tag} is already in use."})
    # Lock order: devices before the ledger head (which the kit's BUILT movement takes).
    lock_devices([d.pk for d in devices])
    try:
        with transaction.atomic():  # two kits built with one tag at once: the second is told
            kit = Kit.objects.create(organization_id=actor.organization_id, template=template,
                                     tag=tag, custodian=custodian)
    except IntegrityError as exc:
        raise ValidationError({"tag": f"Kit tag {tag} is already in use."}) from exc
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.BUILT,
                     to_custodian_id=custodian.pk)
    if devices:
        kit_add_devices(actor=actor, kit=kit, devices=devices, today=today)
    return kit


def _clean_tag(tag: str) -> str:
    tag = (tag or "").strip().upper()
    if not tag or len(tag) > TAG_MAX or not all(c.isalnum() or c in "-_." for c in tag):
        raise ValidationError({"tag": f"Enter a tag of letters, digits and - _ . (at most "
                                      f"{TAG_MAX} characters)."})
    return tag


@service_transaction
def kit_update(*, actor: User, kit: Kit, tag: str, template: KitTemplate,
               notes: str = "") -> Kit:
    """Change a kit's tag, template or notes. The tag and template change only while the kit is
    at home (not in transit, not on loan) and no refill is waiting; the units in it must fit the
    new template. Writes one kit movement naming what changed."""
    kit = lock_kit(kit)
    _ensure_kit_writer(actor, kit)
    ensure_same_organization(actor, template)
    tag = _clean_tag(tag)
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValidationError({"notes": f"Keep the notes under {NOTES_MAX} characters."})
    changes = []
    if tag != kit.tag:
        changes.append(f"tag {kit.tag} → {tag}")
    if template.pk != kit.template_id:
        changes.append(f"template {kit.template} → {template}")
    if (tag, template.pk) != (kit.tag, kit.template_id):
        _ensure_home(kit, "change its tag or template")
        if Transfer.objects.filter(into_kit=kit, status=Transfer.Status.PENDING).exists():
            raise ValidationError(f"A refill of {kit} is waiting: accept or decline it first.")
    if tag != kit.tag and Kit.objects.filter(
            organization_id=kit.organization_id, tag__iexact=tag).exclude(pk=kit.pk).exists():
        raise ValidationError({"tag": f"Kit tag {tag} is already in use."})
    if template.pk != kit.template_id:
        wanted = dict(template.items.values_list("product_id", "quantity"))
        held = Device.objects.filter(kit=kit).values("product_id", "product__reference").annotate(
            n=Count("id")).order_by("product__reference")
        errors = [
            f"{row['n']} × {row['product__reference']} in the kit: the {template} template "
            + (f"holds {wanted[row['product_id']]}." if row["product_id"] in wanted
               else "does not list it.")
            for row in held if row["n"] > wanted.get(row["product_id"], 0)
        ]
        if errors:
            raise ValidationError({"template": [*errors, "Take those units out first."]})
    if notes != kit.notes:
        changes.append("notes")
    if not changes:
        return kit
    kit.tag, kit.template, kit.notes = tag, template, notes
    try:
        with transaction.atomic():  # two kits renamed to one tag at once: the second is told
            kit.save(update_fields=["tag", "template", "notes"])
    except IntegrityError as exc:
        raise ValidationError({"tag": f"Kit tag {tag} is already in use."}) from exc
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.EDITED,
                     from_custodian_id=kit.custodian_id, to_custodian_id=kit.custodian_id,
                     note="; ".join(changes))
    return kit


@service_transaction
def kit_add_devices(*, actor: User, kit: Kit, devices: Sequence[Device],
                    today: datetime.date | None = None) -> list[Device]:
    """Pack units into a kit (scanned or picked): each available in the kit's custodian's
    custody, in no kit, not in transit, unexpired, of a product of the template, within its
    quantity. One movement per unit plus the kit's own."""
    today = today or timezone.localdate()
    kit = lock_kit(kit)
    _ensure_kit_writer(actor, kit)
    _ensure_home(kit, "pack it")
    if not devices:
        raise ValidationError("Scan or pick at least one unit.")
    wanted = {d.pk for d in devices}
    locked = lock_devices(wanted)
    contents = kit_contents(kit=kit, today=today)
    room = {row.product.pk: row.required - row.held for row in contents.rows}
    errors = []
    if len(locked) != len(wanted):
        errors.append("Some units no longer exist.")
    for device in locked:
        if device.organization_id != kit.organization_id:
            errors.append(f"{device.label} is not part of your organisation's inventory.")
        elif problem := leave_problem(device, MovementKind.KIT_PACKED):
            errors.append(problem)
        elif device.pending_transfer_id:
            errors.append(f"{device.label} is in transit: answer the transfer first.")
        elif device.custodian_id != kit.custodian_id:
            errors.append(f"{device.label} is in {device.custodian}'s custody, not "
                          f"{kit.custodian}'s: transfer it first.")
        elif device.expiration_date < today:
            errors.append(f"{device.label} expired on {device.expiration_date:%Y-%m-%d} and "
                          "can't be packed.")
        elif device.product_id not in room:
            errors.append(f"{device.label} ({device.product.reference}) is not in the "
                          f"{kit.template} template.")
        elif room[device.product_id] <= 0:
            errors.append(f"{device.label}: {kit} already holds the {device.product.reference} "
                          "units its template asks for.")
        else:
            room[device.product_id] -= 1
    if errors:
        raise ValidationError(errors)
    devices_transition(actor=actor, devices=locked, kind=MovementKind.KIT_PACKED, kit=kit,
                       note=f"kit {kit.tag}")
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.PACKED,
                     to_custodian_id=kit.custodian_id, units=len(locked))
    return locked


@service_transaction
def kit_remove_device(*, actor: User, kit: Kit, device: Device, note: str = "") -> Device:
    """Take a unit out of a kit (it stays in the custodian's inventory, on its own)."""
    kit = lock_kit(kit)
    _ensure_kit_writer(actor, kit)
    _ensure_home(kit, "take units out")
    (device,) = lock_devices([device.pk]) or (None,)
    if device is None or device.kit_id != kit.pk:
        raise ValidationError(f"That unit is not in {kit}.")
    devices_transition(actor=actor, devices=[device], kind=MovementKind.KIT_UNPACKED, kit=None,
                       note=note or f"out of kit {kit.tag}")
    kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.UNPACKED,
                     to_custodian_id=kit.custodian_id, units=1, note=device.label)
    return device


# --- a kit moves as one --------------------------------------------------------------------------


@service_transaction
def kit_transfer(*, actor: User, kit: Kit, to_custodian: User,
                 accept_now: bool | None = None) -> Transfer:
    """Transfer a kit and every unit in it. An admin's transfer is accepted at once unless
    ``accept_now=False``; a rep's waits for the recipient (kit and units in transit)."""
    kit = lock_kit(kit)
    _ensure_kit_writer(actor, kit)
    _require_custodian(actor, to_custodian)
    if accept_now is None:
        accept_now = actor.role == User.Role.ADMIN
    if accept_now and actor.role != User.Role.ADMIN:
        raise PermissionDenied("Only an admin can make a transfer that is accepted at once.")
    _ensure_home(kit, "transfer it")
    if kit.custodian_id == to_custodian.pk:
        raise ValidationError(f"{kit} is already in {to_custodian}'s custody.")
    devices = lock_devices(Device.objects.filter(kit=kit).values_list("pk", flat=True))
    errors = [problem for d in devices
              if (problem := leave_problem(d, MovementKind.KIT_TRANSFERRED))]
    errors += [f"{d.label} is in transit: answer its transfer first." for d in devices
               if d.pending_transfer_id]
    if errors:
        raise ValidationError(errors)
    transfer = Transfer.objects.create(
        organization_id=actor.organization_id, from_custodian_id=kit.custodian_id,
        to_custodian=to_custodian, actor=actor, kit=kit,
        status=Transfer.Status.ACCEPTED if accept_now else Transfer.Status.PENDING,
        decided_at=timezone.now() if accept_now else None,
        decided_by=actor if accept_now else None,
    )
    transfer.devices.set(devices)
    kit.status, kit.pending_transfer = Kit.Status.IN_TRANSIT, transfer
    if accept_now:
        _apply_transfer(actor=actor, transfer=transfer, devices=devices, kit=kit)
    else:
        kit.save(update_fields=["status", "pending_transfer"])
        devices_set_in_transit(devices, transfer)
        kit_movement_add(actor=actor, kit=kit, kind=KitMovement.Kind.TRANSFER_SENT,
                         from_custodian_id=transfer.from_custodian_id,
                         to_custodian_id=to_custodian.pk, transfer=transfer, units=len(devices))
    return transfer


# --- replenish -----------------------------------------------------------------------------------


@dataclass
class KitRefill:
    """What "Replenish" drafted: the transfer of replacement units into the kit (None when the
    source has none), and what it lacks (product id → units)."""

    kit: Kit
    transfer: Transfer | None
    shortfall: dict[int, int]


@service_transaction
def kit_replenish(*, actor: User, kit: Kit, source: User,
                  today: datetime.date | None = None) -> KitRefill:
    """Draft a transfer of the units the kit is short (same products, longest dating first) from
    ``source``'s stock (the warehouse, or the kit custodian's own) into the kit. It waits for the
    kit's custodian (or an admin) to accept it; what ``source`` lacks is the shortfall."""
    today = today or timezone.localdate()
    kit = lock_kit(kit)
    _ensure_kit_writer(actor, kit)
    ensure_same_organization(actor, source)
    if actor.role == User.Role.REP and source.pk != actor.pk:
        raise PermissionDenied("A rep refills a kit from their own stock; ask an admin for "
                               "warehouse stock.")
    _ensure_home(kit, "replenish it")
    wanted = kit_contents(kit=kit, today=today).shortfall
    if not wanted:
        raise ValidationError(f"{kit} is complete: nothing to replenish.")
    candidates = (
        sellable_devices(organization_id=kit.organization_id, custodian_id=source.pk, today=today)
        .filter(product_id__in=list(wanted)).order_by("-expiration_date", "pk")
    )
    picked, shortfall = pick_per_product(candidates, wanted)
    transfer = None
    if picked:
        devices = lock_devices(d.pk for d in picked)
        if any(d.pending_transfer_id or d.kit_id or d.status != DeviceStatus.AVAILABLE
               or d.custodian_id != source.pk for d in devices):
            raise ValidationError("Some of those units moved meanwhile: replenish again.")
        transfer = Transfer.objects.create(
            organization_id=actor.organization_id, from_custodian=source,
            to_custodian_id=kit.custodian_id, actor=actor, into_kit=kit,
            status=Transfer.Status.PENDING,
        )
        transfer.devices.set(devices)
        devices_set_in_transit(devices, transfer)
    return KitRefill(kit=kit, transfer=transfer, shortfall=shortfall)
