"""Events: drafts (create, edit, mark devices, cancel, Swap) and the rules of which device may go
on which event (``device_problem``), checked here when a device is marked and again, under row
locks, by billing's Submit For Billing. Devices change state only through ``inventory.lifecycle``.
Every function is keyword-only and runs in one transaction; rule violations raise
``ValidationError`` naming the device and the reason; role violations raise ``PermissionDenied``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from consignment.models import Facility, FacilityContact
from core.db import service_transaction
from core.permissions import ensure_same_organization
from events.models import (
    EVENT_TRANSITIONS,
    Event,
    EventLine,
    EventLineSummary,
    EventStatus,
    EventType,
)
from events.policy import (
    device_problem,
    line_for,
    line_problem,
    open_sale_lines,
    policy_for,
    uses_facility_stock,
)
from inventory.labels import parse_label
from inventory.models import (
    Device,
    DeviceStatus,
    Manufacturer,
    Product,
    ProductLine,
)
from inventory.selectors import pick_per_product, product_for_label, sellable_devices

CENT = Decimal("0.01")

def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def set_status(event: Event, new_status: str) -> None:
    """Move an event along the billing pipeline; an illegal move raises."""
    if new_status not in EVENT_TRANSITIONS.get(event.status, set()):
        raise ValidationError(
            f"{event} is {event.get_status_display()} and can't become "
            f"{EventStatus(new_status).label}."
        )
    event.status = new_status


def lock_event(event: Event, *related: str) -> Event:
    """Lock the event row alone (not the rows joined to it), first in the global lock order.

    FOR NO KEY UPDATE: the event's key never changes, so other transactions' foreign-key checks
    on it (FOR KEY SHARE) are not blocked.
    """
    events = Event.objects.select_for_update(of=("self",), no_key=True)
    return (events.select_related(*related) if related else events).get(pk=event.pk)


def can_edit(user: User, event: Event) -> bool:
    """Who may change an event: an admin of its organisation, or the event's own rep (pages show
    the editing controls by it; ``ensure_can_edit`` enforces it in every service)."""
    if user.organization_id is None or user.organization_id != event.organization_id:
        return False
    return user.is_admin or (user.is_rep and event.representative_id == user.pk)


def ensure_can_edit(actor: User, event: Event) -> None:
    ensure_same_organization(actor, event)
    if not can_edit(actor, event):
        raise PermissionDenied("Only the event's representative or an admin can change it.")


def ensure_draft(event: Event) -> None:
    if event.status != EventStatus.DRAFT:
        raise ValidationError(
            f"{event} was submitted for billing and can't be changed.", code="submitted"
        )


# --- create and edit ---------------------------------------------------------------------------


@service_transaction
def event_create(
    *,
    actor: User,
    event_type: str,
    name: str,
    date: datetime.date,
    facility: Facility,
    representative: User,
    manufacturer: Manufacturer,
    product_line: ProductLine,
    facility_contact: FacilityContact | None = None,
    patient_id: str = "",
    surgeon: str = "",
    facility_stock_only: bool = False,
    create_key: uuid.UUID | None = None,
) -> Event:
    """A draft Case, Stocking Order or Return.

    ``create_key`` is Create Event's form token: posting the same form again (Back, then Create)
    raises ``AlreadyCreated`` naming the draft the first post made, instead of making another.
    """
    ensure_permission(actor, "create_events")
    ensure_same_organization(
        actor, facility, representative, manufacturer, product_line, facility_contact
    )
    errors = {}
    if event_type == EventType.LOAN:
        errors["event_type"] = (
            "A loan is made from Kits → Loan kits: it needs kits and a due-back date."
        )
    elif event_type not in EventType.values:
        errors["event_type"] = "Choose Case, Stocking Order or Return."
    if not (name or "").strip():
        errors["name"] = "Enter a name for the event."
    if representative.role != User.Role.REP or not representative.is_active:
        errors["representative"] = f"{representative} is not an active rep."
    elif actor.role == User.Role.REP and representative.pk != actor.pk:
        errors["representative"] = "A rep can only create events for themself."
    if product_line.manufacturer_id != manufacturer.pk:
        errors["product_line"] = f"{product_line} is not a product line of {manufacturer}."
    if facility_contact is not None and facility_contact.facility_id != facility.pk:
        errors["facility_contact"] = f"{facility_contact} is not a contact at {facility}."
    if facility_stock_only and not uses_facility_stock(event_type):
        errors["facility_stock_only"] = "Only a case can use facility stock."
    if errors:
        raise ValidationError(errors)
    if create_key is not None:
        made = Event.objects.filter(
            organization_id=actor.organization_id, create_key=create_key
        ).first()
        if made is not None:
            raise AlreadyCreated(made)
    fields = {
        "organization_id": actor.organization_id,
        "event_type": event_type,
        "name": name.strip(),
        "date": date,
        "facility": facility,
        "representative": representative,
        "facility_contact": facility_contact,
        "manufacturer": manufacturer,
        "product_line": product_line,
        "patient_id": (patient_id or "").strip() if event_type == EventType.CASE else "",
        "surgeon": (surgeon or "").strip(),
        "facility_stock_only": facility_stock_only,
        "created_by": actor,
        "create_key": create_key,
    }
    if create_key is None:
        return Event.objects.create(**fields)
    try:
        with transaction.atomic():  # a savepoint: a racing post of the same form may win
            return Event.objects.create(**fields)
    except IntegrityError:
        made = Event.objects.filter(
            organization_id=actor.organization_id, create_key=create_key
        ).first()
        if made is None:
            raise
        raise AlreadyCreated(made) from None


class AlreadyCreated(ValidationError):
    """The Create Event form was posted twice: ``event`` is the draft the first post made."""

    def __init__(self, event: Event):
        super().__init__(f"{event} was already created from this form.", code="already_created")
        self.event = event


EDITABLE_FIELDS = {"name", "date", "patient_id", "surgeon", "facility_contact"}
# The header: who and where. A draft's lines were checked against it, so changing it re-checks
# every line (``event_update``).
HEADER_FIELDS = {"facility", "representative", "manufacturer", "product_line"}


@service_transaction
def event_update(
    *, actor: User, event: Event, today: datetime.date | None = None, **fields
) -> Event:
    """Change a draft's details (name, date, patient ID, surgeon, facility contact) and its
    header (facility, representative, manufacturer, product line) while the rules still hold:
    every device already marked is checked again against the new header, and the change is
    refused, naming the devices, when one would no longer fit (e.g. facility stock of the old
    facility on a case moved to another one)."""
    today = today or timezone.localdate()
    event = lock_event(event)
    ensure_can_edit(actor, event)
    ensure_draft(event)
    unknown = set(fields) - EDITABLE_FIELDS - HEADER_FIELDS
    if unknown:
        raise ValidationError(f"These can't be changed here: {', '.join(sorted(unknown))}.")
    header = {k: v for k, v in fields.items() if k in HEADER_FIELDS and v is not None
              and getattr(event, f"{k}_id") != v.pk}
    ensure_same_organization(actor, *header.values())
    facility = header.get("facility", event.facility)
    manufacturer = header.get("manufacturer", event.manufacturer)
    product_line = header.get("product_line", event.product_line)
    errors = {}
    rep = header.get("representative")
    if rep is not None:
        if rep.role != User.Role.REP or not rep.is_active:
            errors["representative"] = f"{rep} is not an active rep."
        elif actor.role == User.Role.REP:
            errors["representative"] = "A rep can only create events for themself."
    if product_line.manufacturer_id != manufacturer.pk:
        errors["product_line"] = f"{product_line} is not a product line of {manufacturer}."
    contact = fields.get("facility_contact", event.facility_contact)
    if contact is not None:
        ensure_same_organization(actor, contact)
        if contact.facility_id != facility.pk:
            errors["facility_contact"] = f"{contact} is not a contact at {facility}."
    if "name" in fields and not (fields["name"] or "").strip():
        errors["name"] = "Enter a name for the event."
    if errors:
        raise ValidationError(errors)
    for key, value in fields.items():
        if key in HEADER_FIELDS and value is None:
            continue
        setattr(event, key, value.strip() if isinstance(value, str) else value)
    if not event.is_case:
        event.patient_id = ""
    if header:
        _recheck_lines(event, header, today)
    event.save()
    return event


def _recheck_lines(event: Event, header: dict, today: datetime.date) -> None:
    """Refuse a header change that a marked device no longer fits (the event holds the new
    header, not yet saved; its lines were checked against the old one)."""
    lines = list(event.lines.select_related(
        "device__product__product_line", "device__facility", "device__custodian", "device__kit"
    ).order_by("device_id"))
    if not lines:
        return
    problems = []
    for line in lines:
        problem = device_problem(event, line.device, today)
        if problem:
            problems.append(problem)
    if problems:
        changed = ", ".join(sorted(Event._meta.get_field(k).verbose_name for k in header))
        raise ValidationError(
            [f"The {changed} can't change while these devices are marked: remove them first."]
            + problems
        )


@service_transaction
def event_set_facility_stock_only(*, actor: User, event: Event, facility_stock_only: bool) -> Event:
    """The "Show Facility Stock items only" filter of a draft case."""
    event = lock_event(event)
    ensure_can_edit(actor, event)
    ensure_draft(event)
    if facility_stock_only and not uses_facility_stock(event.event_type):
        raise ValidationError("Only a case can use facility stock.")
    if event.facility_stock_only != facility_stock_only and event.lines.exists():
        raise ValidationError(
            "Facility stock cannot be entered in a case with other rep consigned inventory: "
            "remove the devices already marked before switching."
        )
    event.facility_stock_only = facility_stock_only
    event.save(update_fields=["facility_stock_only"])
    return event


@service_transaction
def event_add_devices(
    *,
    actor: User,
    event: Event,
    devices: Sequence[Device],
    today: datetime.date | None = None,
) -> list[EventLine]:
    """Add devices to a draft, checking the rules early (they are checked again at submit)."""
    today = today or timezone.localdate()
    event = lock_event(event, "facility", "representative", "manufacturer")
    ensure_can_edit(actor, event)
    ensure_draft(event)
    if not devices:
        raise ValidationError("Choose at least one device.")
    fresh = {
        d.pk: d
        for d in Device.objects.filter(pk__in=[d.pk for d in devices]).select_related(
            "product__product_line", "facility", "custodian", "kit"
        )
    }
    already = set(event.lines.filter(device_id__in=fresh).values_list("device_id", flat=True))
    policy = policy_for(event)
    sales = open_sale_lines(fresh) if policy.reverses_sale else {}
    errors, lines = [], []
    for device in devices:
        current = fresh.get(device.pk)
        if current is None:
            errors.append(f"{device.label} no longer exists.")
            continue
        if current.pk in already:
            errors.append(f"{current.label} is already on this event.")
            continue
        already.add(current.pk)  # listed twice in one request: one line, one message
        problem = device_problem(event, current, today)
        if problem is None and policy.reverses_sale and (
            sales.get(current.pk) is None or sales[current.pk].event_id != current.sold_on_id
        ):
            problem = f"{current.label} has no sale on record to reverse and can't be returned."
        if problem:
            errors.append(problem)
            continue
        lines.append(line_for(event, current, sales.get(current.pk)))
    if errors:
        raise ValidationError(errors)
    return EventLine.objects.bulk_create(lines)


@service_transaction
def event_add_by_udi(
    *, actor: User, event: Event, label: str, today: datetime.date | None = None
) -> EventLine:
    """Add the device a scanned UDI label (GS1, GS1 Digital Link or HIBC) names, or say clearly
    why not."""
    udi = parse_label(label)
    ensure_same_organization(actor, event)
    product = product_for_label(organization_id=event.organization_id, label=udi)
    candidates = list(
        Device.objects.filter(
            organization_id=event.organization_id, product=product
        ).select_related("product__product_line", "facility", "custodian", "kit")
        .filter(**({"serial": udi.serial} if udi.serial else {"lot": udi.lot}))
    )
    if not candidates:
        what = f"SN {udi.serial}" if udi.serial else f"lot {udi.lot}"
        raise ValidationError(f"No device {what} with {udi.identifier} is in your inventory.")
    if udi.lot:
        matching_lot = [d for d in candidates if d.lot == udi.lot]
        if not matching_lot:
            raise ValidationError(
                f"{candidates[0].label} is recorded with lot {candidates[0].lot}, but the label "
                f"says lot {udi.lot}."
            )
        candidates = matching_lot
    if udi.expiration_date and candidates[0].expiration_date != udi.expiration_date:
        recorded = candidates[0].expiration_date
        raise ValidationError(
            f"{candidates[0].label} is recorded as expiring {recorded:%Y-%m-%d}, but the label "
            f"says {udi.expiration_date:%Y-%m-%d}."
        )
    today = today or timezone.localdate()
    if not udi.serial:
        # Lot-tracked label: take the first unit of that lot that the rules allow.
        allowed = [d for d in candidates if device_problem(event, d, today) is None]
        on_event = set(event.lines.values_list("device_id", flat=True))
        allowed = [d for d in allowed if d.pk not in on_event]
        if allowed:
            candidates = allowed[:1]
    return event_add_devices(actor=actor, event=event, devices=candidates[:1], today=today)[0]


@service_transaction
def event_remove_device(*, actor: User, event: Event, device: Device) -> None:
    event = lock_event(event)
    ensure_can_edit(actor, event)
    ensure_draft(event)
    deleted, _ = EventLine.objects.filter(event=event, device=device).delete()
    if not deleted:
        raise ValidationError(f"{device.label} is not on this event.")


@service_transaction
def event_line_set_damaged(
    *, actor: User, event: Event, device: Device, damaged: bool
) -> EventLine:
    """Mark a draft Return's line damaged (it will be removed: "returned for destruction")."""
    event = lock_event(event)
    ensure_can_edit(actor, event)
    ensure_draft(event)
    if not event.is_return:
        raise ValidationError("Only a return's lines can be marked damaged.")
    line = EventLine.objects.filter(event=event, device=device).first()
    if line is None:
        raise ValidationError(f"{device.label} is not on this event.")
    line.damaged = bool(damaged)
    line.save(update_fields=["damaged"])
    return line


# --- Swap expiring facility stock ------------------------------------------------------------


@dataclass
class Swap:
    """The two drafts a swap creates and what the rep lacks (product → units short)."""

    return_event: Event
    stocking_order: Event | None
    shortfalls: dict[Product, int]


def swap_fresh_units(
    *, organization_id: int, rep_id: int, wanted: dict[int, int], today: datetime.date,
    exclude=(),
) -> tuple[list[Device], dict[int, int]]:
    """Up to ``wanted[product_id]`` of the rep's sellable units per product, longest dating
    first; and the shortfall per product."""
    candidates = (
        sellable_devices(organization_id=organization_id, custodian_id=rep_id, today=today)
        .filter(product_id__in=wanted)
        .exclude(pk__in=list(exclude))
        .select_related("product__product_line")
        .order_by("-expiration_date", "pk")
    )
    return pick_per_product(candidates, wanted)


@service_transaction
def replenishment_stocking_order_create(
    *,
    actor: User,
    facility: Facility,
    representative: User,
    product_line: ProductLine,
    quantities: dict[int, int],
    today: datetime.date | None = None,
) -> Replenishment:
    """"Create Stocking Order" on the replenishment page: a draft stocking order for the
    facility with up to ``quantities[product_id]`` of the rep's sellable devices of the product
    line per product, soonest expiry first; created and filled in one transaction (all or
    nothing). What the rep lacks is returned as ``missing`` (product id → units)."""
    today = today or timezone.localdate()
    ensure_same_organization(actor, facility, representative, product_line)
    candidates = (
        sellable_devices(organization_id=actor.organization_id,
                         custodian_id=representative.pk, today=today)
        .filter(product_id__in=list(quantities), product__product_line=product_line)
        .select_related("product__product_line")
        .order_by("expiration_date", "pk")
    )
    picked, missing = pick_per_product(candidates, quantities)
    if not picked:
        raise ValidationError(
            f"{representative} has no available devices for these products: transfer some first."
        )
    event = event_create(
        actor=actor, event_type=EventType.STOCKING_ORDER,
        name=f"Replenishment – {facility.name}", date=today, facility=facility,
        representative=representative, manufacturer=product_line.manufacturer,
        product_line=product_line,
    )
    lines = event_add_devices(actor=actor, event=event, devices=picked, today=today)
    return Replenishment(event=event, added=len(lines), missing=missing)


@dataclass
class Replenishment:
    """The draft "Create Stocking Order" made, how many devices it holds, and what the rep lacks."""

    event: Event
    added: int
    missing: dict[int, int]


@service_transaction
def swap_expiring_create(
    *,
    actor: User,
    devices: Sequence[Device],
    representative: User | None = None,
    today: datetime.date | None = None,
) -> Swap:
    """"Swap" on the expiring list: a draft Return of the chosen facility-stock units and a draft
    Stocking Order of the same products from the rep's custody (longest dating first).

    Both are drafts: the rep reviews and submits each. Units the rep lacks are shortfalls.
    The rep is ``representative``, else the actor (a rep), else the seller of the first unit.
    """
    today = today or timezone.localdate()
    ensure_permission(actor, "create_events")
    if not devices:
        raise ValidationError("Tick the expiring units to swap.")
    fresh = list(
        Device.objects.filter(pk__in=[d.pk for d in devices])
        .select_related("product__product_line__manufacturer", "facility", "sold_on")
        .order_by("expiration_date", "pk")
    )
    ensure_same_organization(actor, *fresh)
    errors = [
        f"{d.label} is not facility stock and can't be swapped."
        for d in fresh if d.status != DeviceStatus.FACILITY_STOCK
    ]
    if errors:
        raise ValidationError(errors)
    facilities = {d.facility_id for d in fresh}
    if len(facilities) > 1:
        raise ValidationError("A swap is for one facility: tick units of one facility only.")
    makers = {d.product.product_line.manufacturer_id for d in fresh}
    if len(makers) > 1:
        raise ValidationError(
            "A swap is for one manufacturer: tick units of one manufacturer at a time."
        )
    first = fresh[0]
    if representative is None:
        representative = actor if actor.role == User.Role.REP else first.sold_on.representative
    facility, line = first.facility, first.product.product_line
    ret = event_create(
        actor=actor, event_type=EventType.RETURN,
        name=f"Swap – {facility.name} (expiring units back)", date=today, facility=facility,
        representative=representative,
        manufacturer=line.manufacturer, product_line=line,
    )
    event_add_devices(actor=actor, event=ret, devices=fresh, today=today)
    wanted: dict[int, int] = {}
    for device in fresh:
        wanted[device.product_id] = wanted.get(device.product_id, 0) + 1
    picked, short = swap_fresh_units(
        organization_id=actor.organization_id, rep_id=representative.pk, wanted=wanted,
        today=today,
    )
    order = None
    if picked:
        order = event_create(
            actor=actor, event_type=EventType.STOCKING_ORDER,
            name=f"Swap – {facility.name} (fresh units)", date=today, facility=facility,
            representative=representative, manufacturer=line.manufacturer, product_line=line,
        )
        event_add_devices(actor=actor, event=order, devices=picked, today=today)
        ret.swap_order = order  # the pair: each page links to the other
        ret.save(update_fields=["swap_order"])
    products = {d.product_id: d.product for d in fresh}
    return Swap(
        return_event=ret, stocking_order=order,
        shortfalls={products[pid]: n for pid, n in short.items()},
    )
# --- Cancel a draft ------------------------------------------------------------------------------


@service_transaction
def event_cancel(*, actor: User, event: Event, reason: str = "") -> Event:
    """Cancel (void) a draft: it stays in the history as Cancelled and its lines are released.

    Only a draft can be cancelled; a submitted event is billed and changes only through the
    billing pipeline.
    """
    event = lock_event(event)
    ensure_can_edit(actor, event)
    if event.status != EventStatus.DRAFT:
        if event.status == EventStatus.CANCELLED:
            raise ValidationError(f"{event} is already cancelled.", code="cancelled")
        raise ValidationError(
            f"{event} was submitted for billing and can't be cancelled.", code="submitted"
        )
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise ValidationError({"reason": "Keep the reason under 300 characters."})
    EventLine.objects.filter(event=event).delete()
    set_status(event, EventStatus.CANCELLED)
    event.cancelled_at = timezone.now()
    event.cancelled_by = actor
    event.cancel_reason = reason
    event.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return event


def draft_line_problems(
    *, event: Event, lines: Sequence[EventLine], today: datetime.date | None = None
) -> dict[int, str]:
    """Why each line of a draft could not be submitted now (line pk → message).

    A device marked on a draft may since have been sold or used by another event, expired or
    moved; the draft page warns before Submit For Billing refuses.
    """
    if not event.is_draft:
        return {}
    today = today or timezone.localdate()
    sales = open_sale_lines(line.device_id for line in lines) if (
        lines and policy_for(event).reverses_sale) else {}
    problems = {}
    for line in lines:
        problem = line_problem(event, line, line.device, today, sales)
        if problem:
            problems[line.pk] = problem
    return problems


# --- the line summary the reports read ---------------------------------------------------------


def _summary_insert_sql(where: str) -> str:
    """INSERT … SELECT of the summary rows of the committed lines matching ``where`` (SQL over
    the line ``l``): one row per event, product and line kind, with the event's facts copied and
    ``sold_amount`` the price of the committed sale each use or return line consumes or reverses
    (its stocking order's line for the device: one at most, ``event_line_device_once``)."""
    quote = connection.ops.quote_name
    summary, line = EventLineSummary._meta.db_table, EventLine._meta.db_table
    event, device = Event._meta.db_table, Device._meta.db_table
    return (
        f"INSERT INTO {quote(summary)} (organization_id, event_id, date, event_type, "
        "representative_id, facility_id, surgeon, product_id, kind, lines, amount, sold_amount) "
        "SELECT e.organization_id, e.id, e.date, e.event_type, e.representative_id, "
        "e.facility_id, e.surgeon, d.product_id, l.kind, COUNT(*), SUM(l.price), "
        "COALESCE(SUM(s.price), 0) "
        f"FROM {quote(line)} l JOIN {quote(event)} e ON e.id = l.event_id "
        f"JOIN {quote(device)} d ON d.id = l.device_id "
        f"LEFT JOIN {quote(line)} s ON s.event_id = l.sold_by_id AND s.device_id = l.device_id "
        "AND s.kind = %s AND s.committed = %s "
        f"WHERE l.committed = %s AND {where} "
        "GROUP BY e.organization_id, e.id, e.date, e.event_type, e.representative_id, "
        "e.facility_id, e.surgeon, d.product_id, l.kind"
    )


def event_line_summary_add(*, event: Event) -> None:
    """Summarise ``event``'s lines as they are committed. Called by Submit For Billing in the
    transaction that commits them, right after; an event is submitted once and never changes
    afterwards, so its summary never needs updating."""
    with connection.cursor() as cursor:
        cursor.execute(_summary_insert_sql("l.event_id = %s"),
                       [EventLine.Kind.SALE, True, True, event.pk])


@service_transaction
def event_line_summary_rebuild() -> int:
    """Recount the whole summary from the committed lines (after loading lines with COPY, as
    ``seed_scale`` does). Returns the number of summary rows."""
    EventLineSummary.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(_summary_insert_sql("1 = 1"), [EventLine.Kind.SALE, True, True])
    return EventLineSummary.objects.count()
