"""Each kind of event, declared once: ``POLICIES`` has one ``EventPolicy`` per event type (a case
twice: with rep stock, and with the facility's stock). A policy says which devices may go on the
event (its ``…_problem`` function), the line it records (kind, price, the sale it consumes or
reverses), the lifecycle transition its submission makes, the document it produces, the event's
next status and the commission effect.

Events reads the eligibility and the line when a device is marked (``events.services``); billing's
one submit path (``billing.submit.event_submit_for_billing``) reads all of it. The document and
the commission effect are billing's and commissions' business, which events may not import: the
policy names them (``Document``, ``CommissionEffect``, declared here) and billing maps each name
to its model and to the commissions function (``billing.submit.DOCUMENTS``,
``COMMISSION_EFFECTS``); a test checks every name has its entry.

Adding an event type: a member of ``EventType``, one ``EventPolicy`` below (with its ``…_problem``
function), its lifecycle transitions (``inventory.lifecycle.TRANSITIONS``) and its templates.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import models

from events.models import Event, EventLine, EventStatus, EventType
from inventory.lifecycle import quarantine_refusal
from inventory.models import Device, DeviceStatus, MovementKind


class Document(models.TextChoices):
    """The numbered document a submission issues (billing maps each to its model)."""

    SALES_ORDER = "sales_order", "Sales order"
    CREDIT_MEMO = "credit_memo", "Credit memo"


class CommissionEffect(models.TextChoices):
    """What a submission does to commissions (billing maps each to the commissions function)."""

    SALE_CREDIT = "sale_credit", "The seller's sale credit (a stocking order: its share)"
    USAGE_CREDIT = "usage_credit", "The covering rep gets the rest of the stocking order's credit"
    CLAWBACK = "clawback", "The seller's sale credit back, negative"


# --- which devices may go on an event: one ``…_problem`` per policy -----------------------------


def _usable_problem(event: Event, device: Device, today: datetime.date) -> str | None:
    """What no sale or use takes: a used, removed or expired device, or another maker's."""
    label = device.label
    if device.status == DeviceStatus.QUARANTINED:
        return quarantine_refusal(device, "sold, used or swapped")
    if device.status == DeviceStatus.CONSUMED:
        return f"{label} was already used in a case and can't be put on another event."
    if device.status == DeviceStatus.REMOVED:
        return f"{label} was removed from inventory and can't be put on an event."
    if device.expiration_date < today:
        return f"{label} expired on {device.expiration_date:%Y-%m-%d} and can't be sold or used."
    if device.product.product_line.manufacturer_id != event.manufacturer_id:
        return f"{label} ({device.product.reference}) is not made by {event.manufacturer}."
    return None


def kit_member_problem(event: Event, device: Device) -> str | None:
    """A unit in a kit goes on an event only from a kit loaned to the facility of a case, in the
    case's rep's custody (it leaves the kit when the case is submitted)."""
    label, tag = device.label, device.kit.tag if device.kit_id else "?"
    if device.status != DeviceStatus.LOANED:
        return f"{label} is in kit {tag}: take it out of the kit first."
    if not event.is_case:
        return (f"{label} is in kit {tag}, on loan to {device.facility}: only a case there can "
                "use it.")
    if device.facility_id != event.facility_id:
        return (f"{label} is on loan to {device.facility} (kit {tag}) and can't be used at "
                f"{event.facility}.")
    if device.custodian_id != event.representative_id:
        return (f"{label} is in kit {tag}, in {device.custodian}'s custody: only their cases can "
                "use it.")
    return None


def rep_stock_problem(event: Event, device: Device, today: datetime.date) -> str | None:
    """A stocking order or a normal case (rules 1 and 4): AVAILABLE in the rep's custody; a case
    may also use the units of a kit loaned to its facility (``kit_member_problem``)."""
    problem = _usable_problem(event, device, today)
    if problem:
        return problem
    if device.status == DeviceStatus.LOANED or device.kit_id:
        return kit_member_problem(event, device)
    label = device.label
    if device.status == DeviceStatus.FACILITY_STOCK:
        hint = " Tick “Show Facility Stock items only” to record its use." if event.is_case else ""
        return (
            f"{label} is facility stock of {device.facility}, already sold, and can't be sold "
            f"again.{hint}"
        )
    if device.custodian_id != event.representative_id:
        return (
            f"{label} is not in {event.representative}'s custody (held by {device.custodian}): "
            "transfer it first."
        )
    if device.pending_transfer_id:
        return f"{label} is in transit and can't be used until the transfer is accepted."
    return None


def facility_stock_problem(event: Event, device: Device, today: datetime.date) -> str | None:
    """A case from facility stock (rule 3): FACILITY_STOCK of the event's facility only."""
    problem = _usable_problem(event, device, today)
    if problem:
        return problem
    label = device.label
    if device.status != DeviceStatus.FACILITY_STOCK:
        return (
            f"{label} is rep inventory, not facility stock: facility stock cannot be entered "
            "in a case with other rep consigned inventory."
        )
    if device.facility_id != event.facility_id:
        return (
            f"{label} is facility stock of {device.facility} and can't be used at "
            f"{event.facility}."
        )
    return None


def return_problem(event: Event, device: Device, today: datetime.date | None = None) -> str | None:
    """A return (rule 11): only FACILITY_STOCK of the event's facility comes back; expired units
    may (for destruction). So does facility stock of the event's facility a recall quarantined
    (it goes back to the manufacturer: REMOVED, the sale reversed)."""
    label = device.label
    if device.status == DeviceStatus.QUARANTINED:
        if device.custodian_id or not device.sold_on_id:
            return (f"{quarantine_refusal(device, 'returned from a facility')[:-1]}: it is in "
                    f"{device.custodian}'s custody; remove it by a stock adjustment (returned to "
                    "manufacturer or destroyed).")
        if device.facility_id != event.facility_id:
            return (f"{label} is quarantined facility stock of {device.facility} and can't be "
                    f"returned from {event.facility}.")
        return None
    if device.status == DeviceStatus.CONSUMED:
        return f"{label} was already used in a case and can't be returned."
    if device.status == DeviceStatus.REMOVED:
        return f"{label} was removed from inventory and can't be returned."
    if device.status != DeviceStatus.FACILITY_STOCK:
        return (
            f"{label} is rep inventory, not facility stock: only facility stock sold to "
            f"{event.facility} can be returned."
        )
    if device.facility_id != event.facility_id:
        return (
            f"{label} is facility stock of {device.facility} and can't be returned from "
            f"{event.facility}."
        )
    if device.product.product_line.manufacturer_id != event.manufacturer_id:
        return f"{label} ({device.product.reference}) is not made by {event.manufacturer}."
    return None


# --- the line's price ----------------------------------------------------------------------------


def list_price(device: Device, sale: EventLine | None) -> Decimal:
    return device.product.unit_price


def no_charge(device: Device, sale: EventLine | None) -> Decimal:
    return Decimal("0.00")


def sale_price(device: Device, sale: EventLine | None) -> Decimal:
    """A return credits the price the stocking order sold the device for."""
    return sale.price if sale is not None else Decimal("0.00")


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventPolicy:
    """What one kind of event does, from marking a device to Submit For Billing."""

    event_type: str  # an EventType
    facility_stock: bool  # a case from the facility's stock (``Event.facility_stock_only``)
    problem: Callable[[Event, Device, datetime.date], str | None]  # why a device may not go on it
    line_kind: str  # the EventLine.Kind it records
    price: Callable[[Device, EventLine | None], Decimal]  # the line's price (given the sale)
    consumes_sale: bool  # the line names the stocking order that sold the device (``sold_by``)
    reverses_sale: bool  # the line reverses that sale: its open sale line must be on record
    transition: str  # the MovementKind its devices make at submit (inventory.lifecycle)
    destruction: str  # the MovementKind of an expired or damaged device, or "" (none)
    document: str  # a Document
    next_status: str  # the EventStatus after submit
    commission: str  # a CommissionEffect
    nothing_marked: str  # the refusal to submit without lines
    needs_patient_id: bool = False  # a case: no submit without the Patient ID (traceability)
    quarantined: str = ""  # the MovementKind of a unit a recall quarantined, or "" (refused)
    # Its lines are priced by the facility's contract in force on the event's date, not the list
    # price (events.pricing; frozen by Submit For Billing), and an admin may override them.
    contract_priced: bool = False
    # The event page's words: its devices tab and its submit button.
    mark_label: str = "Mark Used Inventory"
    submit_label: str = "Submit For Billing"

    def transition_of(self, line: EventLine, today: datetime.date) -> str:
        """The move a line's device makes at submit."""
        if self.quarantined and line.device.status == DeviceStatus.QUARANTINED:
            return self.quarantined
        if self.destruction and (line.damaged or line.device.expiration_date < today):
            return self.destruction
        return self.transition

    def transitions(self) -> tuple[str, ...]:
        return tuple(kind for kind in (self.transition, self.destruction, self.quarantined)
                     if kind)


MARK_USED = "Mark at least one device as used before submitting."

POLICIES: tuple[EventPolicy, ...] = (
    EventPolicy(
        event_type=EventType.CASE, facility_stock=False, problem=rep_stock_problem,
        line_kind=EventLine.Kind.SALE, price=list_price, consumes_sale=False,
        reverses_sale=False, transition=MovementKind.SOLD_AND_CONSUMED, destruction="",
        document=Document.SALES_ORDER, next_status=EventStatus.PENDING_PO,
        commission=CommissionEffect.SALE_CREDIT, nothing_marked=MARK_USED,
        needs_patient_id=True, contract_priced=True,
    ),
    EventPolicy(
        event_type=EventType.CASE, facility_stock=True, problem=facility_stock_problem,
        line_kind=EventLine.Kind.USAGE, price=no_charge, consumes_sale=True,
        reverses_sale=False, transition=MovementKind.FACILITY_STOCK_CONSUMED, destruction="",
        document=Document.SALES_ORDER, next_status=EventStatus.CLOSED,
        commission=CommissionEffect.USAGE_CREDIT, nothing_marked=MARK_USED,
        needs_patient_id=True,
    ),
    EventPolicy(
        event_type=EventType.STOCKING_ORDER, facility_stock=False, problem=rep_stock_problem,
        line_kind=EventLine.Kind.SALE, price=list_price, consumes_sale=False,
        reverses_sale=False, transition=MovementKind.SOLD_TO_FACILITY, destruction="",
        document=Document.SALES_ORDER, next_status=EventStatus.PENDING_PO,
        commission=CommissionEffect.SALE_CREDIT, nothing_marked=MARK_USED,
        contract_priced=True,
    ),
    EventPolicy(
        event_type=EventType.RETURN, facility_stock=False, problem=return_problem,
        line_kind=EventLine.Kind.RETURN, price=sale_price, consumes_sale=True,
        reverses_sale=True, transition=MovementKind.RETURNED,
        destruction=MovementKind.RETURNED_FOR_DESTRUCTION,
        document=Document.CREDIT_MEMO, next_status=EventStatus.CLOSED,
        commission=CommissionEffect.CLAWBACK,
        nothing_marked="Add at least one device to return before submitting.",
        quarantined=MovementKind.RECALL_RETURNED,
        mark_label="Mark Returned Inventory", submit_label="Submit Return",
    ),
)

_BY_KIND = {(p.event_type, p.facility_stock): p for p in POLICIES}

# Event types never submitted for billing, so without a policy row: a Loan sends kits to a
# facility (events.loan_services), sells nothing and closes when its kits are checked in; no
# device is marked on it (a loan is never a draft).
NOT_BILLED = frozenset({EventType.LOAN})

# The ledger note of a device returned expired or damaged.
RETURNED_FOR_DESTRUCTION = "returned for destruction"
NOTES = {MovementKind.RETURNED_FOR_DESTRUCTION: RETURNED_FOR_DESTRUCTION,
         MovementKind.RECALL_RETURNED: "returned under a recall"}


def policy_for(event: Event) -> EventPolicy:
    """The policy of ``event``'s kind (by its type and its "facility stock only" switch)."""
    return _BY_KIND[(event.event_type, event.facility_stock_only)]


def uses_facility_stock(event_type: str) -> bool:
    """Whether events of this type may use the facility's stock (a policy says so)."""
    return (event_type, True) in _BY_KIND


# --- what every path asks of a device and a line -------------------------------------------------


def device_problem(event: Event, device: Device, today: datetime.date) -> str | None:
    """Why ``device`` can't go on ``event`` right now, or None. Rules 1, 3, 4 and 11.

    The per-device twin of the selectors ``inventory.selectors.sellable_devices`` and
    ``facility_stock_devices`` (``events.selectors.event_device_candidates``): a device passes
    here exactly when the candidates query lists it (tests/events/test_rules_events.py).
    """
    if device.organization_id != event.organization_id:
        return f"{device.label} is not part of your organisation's inventory."
    if event.event_type in NOT_BILLED:
        return f"{event} is a loan: its kits are chosen when it is sent; nothing is marked on it."
    return policy_for(event).problem(event, device, today)


def open_sale_lines(device_ids) -> dict[int, EventLine]:
    """The committed, not yet returned sale line of each device (the sale a return reverses)."""
    return {
        line.device_id: line
        for line in EventLine.objects.filter(
            device_id__in=list(device_ids), kind=EventLine.Kind.SALE, committed=True,
            returned_by__isnull=True,
        ).select_related("event")
    }


def moved_since_marked(
    policy: EventPolicy, line: EventLine, device: Device, sales: dict[int, EventLine]
) -> str | None:
    """Why a marked line no longer fits its device, or None: the sale the line consumes or
    reverses is no longer the device's (sold again, returned, restored since it was marked).
    ``sales``: ``open_sale_lines`` of the devices when the policy reverses sales."""
    if not policy.consumes_sale:
        return None
    sale = sales.get(device.pk)
    if line.sold_by_id != device.sold_on_id or policy.reverses_sale and (
        sale is None or sale.event_id != device.sold_on_id
    ):
        return f"{device.label} was moved since it was marked: mark it again."
    return None


def line_problem(
    event: Event, line: EventLine, device: Device, today: datetime.date,
    sales: dict[int, EventLine],
) -> str | None:
    """Why a marked line can't be submitted now: the device's rules, then whether it moved."""
    return device_problem(event, device, today) or moved_since_marked(
        policy_for(event), line, device, sales
    )


def line_for(event: Event, device: Device, sale: EventLine | None = None) -> EventLine:
    """The line marking ``device`` on ``event`` records (kind, price, the sale it consumes)."""
    policy = policy_for(event)
    return EventLine(
        event=event, device=device, kind=policy.line_kind, price=policy.price(device, sale),
        sold_by_id=device.sold_on_id if policy.consumes_sale else None,
    )
