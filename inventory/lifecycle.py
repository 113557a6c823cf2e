"""The device lifecycle: its states, the table of allowed transitions, and the one function that
moves a device.

The states are ``DeviceStatus`` (inventory/models.py), plus ``NOT_RECEIVED`` — where a device is
before its receipt. ``TRANSITIONS`` has one row per allowed move: from which status, to which
status, the ``MovementKind`` it writes to the ledger, what drives it, the named permission that
may drive it (``accounts.permissions``) and the fields the move sets (``sets``: cleared, taken
from the driving event, or given by the caller), so callers never set them by hand. A row may keep
the status and change the custodian (a transfer) or the facility (a facility correction); such a
row names the field that must change (``moves``).

Every change of a device's status, custodian or facility goes through ``device_transition``
(checks the move against the table and changes the device in memory) and ``record_movements``
(writes the devices and one ``DeviceMovement`` per device, HMAC-chained). ``devices_transition``
does both for devices that make the same move. ``verify_ledger`` replays every movement against
the same table (``movement_problem``), and ``manage.py lifecycle_diagram`` draws the table as the
state diagram in docs/lifecycle.md.

Callers (inventory.services, billing.submit) lock the device rows first and check the rules of
their own use case (custody, expiry, the event's facility), with their own messages; the table is
the last word on which moves exist at all.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils import timezone

from accounts.models import User
from accounts.permissions import has_permission, roles_with
from core.db import bulk_insert, bulk_update
from inventory.ledger import (
    chain_kit_movements,
    chain_movements,
    check_head_key,
    key_id,
    ledger_key,
)
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    KitMovement,
    LedgerChainHead,
    MovementKind,
    RecallUnit,
)

NOT_RECEIVED = ""  # the "from" status of a receipt: the device was not in inventory before

S = DeviceStatus
K = MovementKind


class Driver(models.TextChoices):
    """What a person does in the app that moves a device."""

    RECEIVE = "receive", "Receiving"
    TRANSFER = "transfer", "Transfer"
    STOCKING_ORDER_SUBMIT = "stocking_order_submit", "Stocking Order submit"
    CASE_SUBMIT = "case_submit", "Case submit"
    FACILITY_STOCK_CASE_SUBMIT = "facility_stock_case_submit", "Case submit with facility stock"
    RETURN = "return", "Return submit"
    RETURN_FOR_DESTRUCTION = "return_for_destruction", "Return submit, expired or damaged"
    ADJUSTMENT_REMOVE = "adjustment_remove", "Stock adjustment, remove"
    ADJUSTMENT_RESTORE = "adjustment_restore", "Stock adjustment, restore"
    ADJUSTMENT_MOVE = "adjustment_move", "Stock adjustment, move to another facility"
    KIT_PACK = "kit_pack", "Kit build or replenish"
    KIT_UNPACK = "kit_unpack", "Taken out of a kit"
    KIT_TRANSFER = "kit_transfer", "Kit transfer"
    LOAN = "loan", "Loan sent"
    KIT_CHECK_IN = "kit_check_in", "Kit check-in"
    LOANED_CASE_SUBMIT = "loaned_case_submit", "Case submit, from a loaned kit"
    KIT_UNIT_LOST = "kit_unit_lost", "Kit check-in, unit reported lost"
    LOAN_MOVE = "loan_move", "Loan moved to another facility"
    RECALL_OPEN = "recall_open", "Recall opened, or a unit in its scope received"
    RECALL_RETURN = "recall_return", "Return submit, recalled unit"
    RECALL_ADJUSTMENT = "recall_adjustment", "Stock adjustment, recalled unit returned or destroyed"


# Where a field a row sets takes its value from (``Transition.sets``): None clears it.
EVENT = "event"  # the event that drives the move (``device_transition(…, event=…)``)
EVENT_FACILITY = "event.facility"
EVENT_REPRESENTATIVE = "event.representative"
GIVEN = "given"  # the caller says (a transfer's recipient, a restore's custodian or facility)


def sets(**fields: str | None) -> tuple[tuple[str, str | None], ...]:
    """A row's field changes: ``sets(custodian=None, facility=EVENT_FACILITY)``."""
    unknown = set(fields) - {"custodian", "facility", "sold_on", "used_in", "kit"}
    if unknown:
        raise TypeError(f"a transition can't set {', '.join(sorted(unknown))}")
    return tuple(fields.items())


@dataclass(frozen=True)
class Transition:
    """One allowed move of a device, and the fields it sets besides the status (its target)."""

    source: str  # a DeviceStatus, or NOT_RECEIVED
    target: str  # a DeviceStatus
    kind: str  # the MovementKind written to the ledger
    driver: Driver
    permission: str  # who may drive it (accounts.permissions; the services check finer rules)
    sets: tuple[tuple[str, str | None], ...] = ()  # field → None, EVENT…, or GIVEN
    moves: str = ""  # a row that keeps the status: "custodian", "facility" or "kit" must change
    # May a unit in a kit make this move? Every other move refuses a kit member: it moves with
    # its kit, or leaves the kit first.
    kit_members: bool = False

    @property
    def roles(self) -> frozenset[str]:
        """The roles holding the row's permission."""
        return roles_with(self.permission)


# The permission each driver needs (accounts.permissions.PERMISSIONS).
RECEIVE, TRANSFER, SUBMIT, ADJUST, KITS, RECALLS = (
    "receive_inventory", "transfer_devices", "submit_for_billing", "adjust_stock", "manage_kits",
    "manage_recalls",
)
SOLD = sets(custodian=None, facility=EVENT_FACILITY, sold_on=EVENT)
TRANSITIONS: tuple[Transition, ...] = (
    Transition(NOT_RECEIVED, S.AVAILABLE, K.RECEIVED, Driver.RECEIVE, RECEIVE,
               sets(custodian=GIVEN)),
    Transition(S.AVAILABLE, S.AVAILABLE, K.TRANSFERRED, Driver.TRANSFER, TRANSFER,
               sets(custodian=GIVEN), moves="custodian"),
    Transition(S.AVAILABLE, S.FACILITY_STOCK, K.SOLD_TO_FACILITY, Driver.STOCKING_ORDER_SUBMIT,
               SUBMIT, SOLD),
    Transition(S.AVAILABLE, S.CONSUMED, K.SOLD_AND_CONSUMED, Driver.CASE_SUBMIT, SUBMIT,
               SOLD + sets(used_in=EVENT)),
    Transition(S.FACILITY_STOCK, S.CONSUMED, K.FACILITY_STOCK_CONSUMED,
               Driver.FACILITY_STOCK_CASE_SUBMIT, SUBMIT,
               sets(custodian=None, used_in=EVENT)),
    Transition(S.FACILITY_STOCK, S.AVAILABLE, K.RETURNED, Driver.RETURN, SUBMIT,
               sets(custodian=EVENT_REPRESENTATIVE, facility=None, sold_on=None)),
    Transition(S.FACILITY_STOCK, S.REMOVED, K.RETURNED_FOR_DESTRUCTION,
               Driver.RETURN_FOR_DESTRUCTION, SUBMIT,
               sets(custodian=None, facility=None, sold_on=None)),
    Transition(S.AVAILABLE, S.REMOVED, K.ADJUSTMENT_REMOVED, Driver.ADJUSTMENT_REMOVE, ADJUST,
               sets(custodian=None, facility=None)),
    Transition(S.FACILITY_STOCK, S.REMOVED, K.ADJUSTMENT_REMOVED, Driver.ADJUSTMENT_REMOVE, ADJUST,
               sets(custodian=None, facility=None)),
    Transition(S.REMOVED, S.AVAILABLE, K.ADJUSTMENT_RESTORED, Driver.ADJUSTMENT_RESTORE, ADJUST,
               sets(custodian=GIVEN)),
    Transition(S.REMOVED, S.FACILITY_STOCK, K.ADJUSTMENT_RESTORED, Driver.ADJUSTMENT_RESTORE,
               ADJUST, sets(facility=GIVEN)),
    Transition(S.FACILITY_STOCK, S.FACILITY_STOCK, K.ADJUSTMENT_MOVED, Driver.ADJUSTMENT_MOVE,
               ADJUST, sets(facility=GIVEN), moves="facility"),
    # Kits: a unit enters or leaves a kit; a kit member moves with its kit (transfer, loan,
    # check-in); a loaned unit is sold and used by a case at the loan's facility (it leaves the
    # kit), or reported lost at check-in (a stock adjustment; it leaves the kit).
    Transition(S.AVAILABLE, S.AVAILABLE, K.KIT_PACKED, Driver.KIT_PACK, KITS,
               sets(kit=GIVEN), moves="kit"),
    Transition(S.AVAILABLE, S.AVAILABLE, K.KIT_UNPACKED, Driver.KIT_UNPACK, KITS,
               sets(kit=None), moves="kit", kit_members=True),
    Transition(S.AVAILABLE, S.AVAILABLE, K.KIT_TRANSFERRED, Driver.KIT_TRANSFER, KITS,
               sets(custodian=GIVEN), moves="custodian", kit_members=True),
    Transition(S.AVAILABLE, S.LOANED, K.KIT_LOANED, Driver.LOAN, KITS,
               sets(facility=EVENT_FACILITY), kit_members=True),
    Transition(S.LOANED, S.AVAILABLE, K.KIT_CHECKED_IN, Driver.KIT_CHECK_IN, KITS,
               sets(facility=None), kit_members=True),
    Transition(S.LOANED, S.CONSUMED, K.SOLD_AND_CONSUMED, Driver.LOANED_CASE_SUBMIT, SUBMIT,
               SOLD + sets(used_in=EVENT, kit=None), kit_members=True),
    Transition(S.LOANED, S.REMOVED, K.ADJUSTMENT_REMOVED, Driver.KIT_UNIT_LOST, KITS,
               sets(custodian=None, facility=None, kit=None), kit_members=True),
    # A loan's facility corrected while nothing of it is used: its units follow the loan.
    Transition(S.LOANED, S.LOANED, K.KIT_LOAN_MOVED, Driver.LOAN_MOVE, KITS,
               sets(facility=EVENT_FACILITY), moves="facility", kit_members=True),
    # Recalls: every active unit in a recall's scope is quarantined where it is (custody,
    # facility, kit, in transit: the transit ends); it comes back by a Return (facility stock:
    # the sale is reversed) or a stock adjustment (returned to the manufacturer, destroyed).
    Transition(S.AVAILABLE, S.QUARANTINED, K.QUARANTINED, Driver.RECALL_OPEN, RECALLS,
               kit_members=True),
    Transition(S.FACILITY_STOCK, S.QUARANTINED, K.QUARANTINED, Driver.RECALL_OPEN, RECALLS),
    Transition(S.LOANED, S.QUARANTINED, K.QUARANTINED, Driver.RECALL_OPEN, RECALLS,
               kit_members=True),
    Transition(S.QUARANTINED, S.REMOVED, K.RECALL_RETURNED, Driver.RECALL_RETURN, SUBMIT,
               sets(custodian=None, facility=None, sold_on=None)),
    Transition(S.QUARANTINED, S.REMOVED, K.ADJUSTMENT_REMOVED, Driver.RECALL_ADJUSTMENT, ADJUST,
               sets(custodian=None, facility=None, kit=None), kit_members=True),
)

_BY_MOVE = {(t.source, t.target, t.kind): t for t in TRANSITIONS}

# What a person reads when a device's status has no row for the move asked of it.
REFUSALS: dict[str, str] = {
    K.RECEIVED: "{label} is already in inventory ({status}) and can't be received again.",
    K.TRANSFERRED: "{label} is {status} and can't be transferred.",
    K.SOLD_TO_FACILITY: "{label} is {status} and can't be sold on a stocking order.",
    K.SOLD_AND_CONSUMED: "{label} is {status} and can't be sold and used in a case.",
    K.FACILITY_STOCK_CONSUMED: "{label} is {status}, not facility stock, and can't be used as "
                               "facility stock in a case.",
    K.RETURNED: "{label} is {status}, not facility stock, and can't be returned.",
    K.RETURNED_FOR_DESTRUCTION: "{label} is {status}, not facility stock, and can't be returned "
                                "for destruction.",
    K.ADJUSTMENT_REMOVED: "{label} is {status}: only active devices can be removed.",
    K.ADJUSTMENT_RESTORED: "{label} is {status}: only removed devices can be restored.",
    K.ADJUSTMENT_MOVED: "{label} is not facility stock: only facility stock can be moved to "
                        "another facility.",
    K.KIT_PACKED: "{label} is {status}: only available units can be packed into a kit.",
    K.KIT_UNPACKED: "{label} is {status} and can't be taken out of its kit now.",
    K.KIT_TRANSFERRED: "{label} is {status} and can't be transferred with its kit.",
    K.KIT_LOANED: "{label} is {status} and can't be loaned with its kit.",
    K.KIT_CHECKED_IN: "{label} is {status}, not on loan, and can't be checked in.",
    K.KIT_LOAN_MOVED: "{label} is {status}, not on loan, and can't move with its loan.",
    K.QUARANTINED: "{label} is {status} and can't be quarantined.",
    K.RECALL_RETURNED: "{label} is {status}, not quarantined by a recall.",
}

# What a quarantined unit can't do, by the move asked of it (the refusal names the recall).
QUARANTINE_REFUSALS: dict[str, str] = {
    K.RECEIVED: "received again",
    K.QUARANTINED: "quarantined again",
    K.TRANSFERRED: "transferred",
    K.KIT_TRANSFERRED: "transferred with its kit",
    K.SOLD_TO_FACILITY: "sold",
    K.SOLD_AND_CONSUMED: "sold or used",
    K.FACILITY_STOCK_CONSUMED: "used",
    K.RETURNED: "returned as stock",
    K.RETURNED_FOR_DESTRUCTION: "returned that way",
    K.ADJUSTMENT_RESTORED: "restored",
    K.ADJUSTMENT_MOVED: "moved to another facility",
    K.KIT_PACKED: "packed into a kit",
    K.KIT_UNPACKED: "taken out of its kit that way (remove it by a stock adjustment)",
    K.KIT_LOANED: "loaned",
    K.KIT_CHECKED_IN: "checked in with its kit (remove it by a stock adjustment first)",
    K.KIT_LOAN_MOVED: "moved with its loan to another facility",
}


def quarantine_refusal(device: Device, doing: str = "used, sold, transferred or swapped") -> str:
    """"SN 4471 is quarantined under recall R-2026-001 and can't be sold." (one query)"""
    reference = (
        RecallUnit.objects.filter(device_id=device.pk)
        .order_by("recall__opened_at", "recall_id")
        .values_list("recall__reference", flat=True).first()
    )
    under = f" under recall {reference}" if reference else ""
    return f"{device.label} is quarantined{under} and can't be {doing}."

# The fields a transition may set (``new_state`` keys, by name or by attname).
_ATTNAMES = {"status": "status", "custodian": "custodian_id", "facility": "facility_id",
             "sold_on": "sold_on_id", "used_in": "used_in_id", "kit": "kit_id"}


def transition_for(source: str, target: str, kind: str) -> Transition | None:
    """The table's row for this move, or None when the lifecycle does not allow it."""
    return _BY_MOVE.get((source, target, kind))


def status_label(status: str) -> str:
    return "not yet received" if status == NOT_RECEIVED else S(status).label.lower()


class State(NamedTuple):
    """Where a device is: what a movement records as its "from" and "to"."""

    status: str
    custodian_id: int | None
    facility_id: int | None
    kit_id: int | None = None

    @classmethod
    def of(cls, device: Device) -> State:
        if device.pk is None:  # being received
            return cls(NOT_RECEIVED, None, None, None)
        return cls(device.status, device.custodian_id, device.facility_id, device.kit_id)


class Change(NamedTuple):
    """A device after ``device_transition``, where it was before, and the row that allowed it."""

    device: Device
    previous: State
    transition: Transition


def _refusal(device: Device, kind: str, status: str) -> str:
    return REFUSALS[kind].format(label=device.label, status=status_label(status))


# The moves a device in transit may make: its transfer's (a kit transfer, a kit's refill).
IN_TRANSIT_KINDS = frozenset({K.TRANSFERRED, K.KIT_TRANSFERRED, K.KIT_PACKED, K.QUARANTINED})


def kit_label(device: Device) -> str:
    """The tag of the device's kit (its kit is read once if not loaded)."""
    return device.kit.tag if device.kit_id else ""


def leave_problem(device: Device, kind: str) -> str | None:
    """Why the device can't make a ``kind`` move at all, or None: the table has no such move
    from its status, it is in a kit and the move is not one a kit member makes, or it is in
    transit (only its transfer may move it)."""
    source = State.of(device).status
    rows = [t for t in TRANSITIONS if t.source == source and t.kind == kind]
    if not rows and source == S.QUARANTINED:
        return quarantine_refusal(device, QUARANTINE_REFUSALS.get(kind, "moved that way"))
    if not rows:
        return _refusal(device, kind, source)
    if device.kit_id and not any(t.kit_members for t in rows):
        return (f"{device.label} is in kit {kit_label(device)}: it moves with its kit; take it "
                "out of the kit first.")
    if device.pending_transfer_id and kind not in IN_TRANSIT_KINDS:
        return f"{device.label} is in transit: answer the transfer first."
    return None


def check_can_leave(device: Device, kind: str) -> None:
    """``leave_problem`` as a ``ValidationError``: for services that check before they know the
    target state."""
    problem = leave_problem(device, kind)
    if problem:
        raise ValidationError(problem, code="illegal_transition")


def _state_problem(device: Device, state: dict) -> str | None:
    """The per-row rules of each status (the Device check constraints), said to a person."""
    label, status = device.label, state["status"]
    if status == S.AVAILABLE and not (
        state["custodian_id"] and not state["facility_id"] and not state["sold_on_id"]
    ):
        return f"{label} would be available without being in one custodian's unsold inventory."
    if status == S.FACILITY_STOCK and not (
        state["facility_id"] and state["sold_on_id"] and not state["custodian_id"]
    ):
        return f"{label} would be facility stock without a facility and a sale, or in custody."
    if status == S.CONSUMED and not (
        state["sold_on_id"] and state["used_in_id"] and not state["custodian_id"]
    ):
        return f"{label} would be consumed without a sale and a case, or still in custody."
    if status == S.REMOVED and (state["custodian_id"] or state["facility_id"]):
        return f"{label} would be removed but still in custody or at a facility."
    if status == S.LOANED and not (
        state["kit_id"] and state["custodian_id"] and state["facility_id"]
        and not state["sold_on_id"]
    ):
        return f"{label} would be on loan without a kit, a custodian and a facility, or sold."
    if status == S.QUARANTINED and not (state["custodian_id"] or state["facility_id"]):
        return f"{label} would be quarantined without a holder."
    if state["kit_id"] and status not in (S.AVAILABLE, S.LOANED, S.QUARANTINED):
        return f"{label} would be {status_label(status)} but still in a kit."
    return None


def _declared(row: Transition, device: Device, given: dict, event) -> dict:
    """The values ``row`` sets (``Transition.sets``), resolved against the driving event; what
    the caller gives itself stands."""
    values = {}
    for field, source in row.sets:
        if field in given or f"{field}_id" in given:  # the caller says (and the checks hold)
            continue
        if source == GIVEN:
            raise TypeError(f"{row.kind} needs the {field} it moves {device.label} to")
        if source is not None:
            if event is None:  # left as it is: the state check below refuses what that breaks
                continue
            value = event
            for part in source.split(".")[1:]:
                value = getattr(value, part)
            source = value
        values[field] = source
    return values


def _row_for(device: Device, kind: str, target: str | None) -> Transition | None:
    """The table's row for a ``kind`` move of ``device`` (to ``target``, when several)."""
    source = State.of(device).status
    if target is not None:
        return transition_for(source, target, kind)
    rows = [t for t in TRANSITIONS if t.source == source and t.kind == kind]
    if len(rows) > 1:
        raise TypeError(f"{kind} from {source} goes to several statuses: pass status=")
    return rows[0] if rows else None


def device_transition(device: Device, kind: str, *, event=None, **new_state) -> Change:
    """Check a move against the table and apply it to ``device`` (in memory; see
    ``record_movements``). Returns the change: the device, where it was, the table's row.

    The row says the new status and the fields it sets (``Transition.sets``): cleared, taken
    from ``event`` (the event driving the move), or ``GIVEN`` in ``new_state`` by the caller
    (custodian, facility: instances, or ``…_id``). ``status`` is needed only where one kind of
    move from a status has several targets (a restore). A device without a primary key is being
    received. A move always ends a device's transit. Illegal moves raise ``ValidationError`` and
    leave the device unchanged.
    """
    previous = State.of(device)
    for name in new_state:
        field = name.removesuffix("_id")
        if field not in _ATTNAMES or (name.endswith("_id") and field == "status"):
            raise TypeError(f"device_transition() can't set {name!r}")

    check_can_leave(device, kind)
    row = _row_for(device, kind, new_state.get("status"))
    if row is None:
        target = new_state.get("status", previous.status)
        raise ValidationError(
            f"{device.label} is {status_label(previous.status)} and can't become "
            f"{status_label(target)} that way.", code="illegal_transition",
        )
    changes = {"status": row.target, **_declared(row, device, new_state, event), **new_state}
    after = {attname: getattr(device, attname) for attname in _ATTNAMES.values()}
    for name, value in changes.items():
        field = name.removesuffix("_id")
        if name == field and field != "status":
            value = value.pk if value is not None else None
        after[_ATTNAMES[field]] = value
    transition = row
    if transition.moves == "custodian" and after["custodian_id"] == previous.custodian_id:
        raise ValidationError(f"{device.label} is already in {device.custodian}'s custody.",
                              code="no_move")
    if transition.moves == "facility" and after["facility_id"] == previous.facility_id:
        raise ValidationError(f"{device.label} is already facility stock of {device.facility}.",
                              code="no_move")
    if transition.moves == "kit" and after["kit_id"] == previous.kit_id:
        raise ValidationError(f"{device.label} is already there.", code="no_move")
    if device.kit_id and not transition.kit_members:
        raise ValidationError(f"{device.label} is in kit {kit_label(device)}: take it out of the "
                              "kit first.", code="in_kit")
    problem = _state_problem(device, after)
    if problem:
        raise ValidationError(problem, code="invalid_state")

    for name, value in changes.items():
        setattr(device, name, value)
    device.pending_transfer = None
    return Change(device, previous, transition)


def record_movements(
    *,
    actor: User,
    changes: Sequence[Change],
    event=None,
    transfer=None,
    adjustment=None,
    note: str = "",
    at: datetime.datetime | None = None,
) -> list[DeviceMovement]:
    """Write the changed devices (inserting those being received) and one ledger row each, in
    the caller's transaction. The caller holds the device row locks already."""
    at = at or timezone.now()
    for change in changes:
        if not isinstance(change, Change):
            raise TypeError("record_movements() takes the changes device_transition() returns")
        if not has_permission(actor, change.transition.permission):
            raise PermissionDenied(
                f"Your role ({actor.get_role_display()}) may not drive "
                f"“{change.transition.driver.label}”."
            )
    received = [c.device for c in changes if c.previous.status == NOT_RECEIVED]
    if received:
        Device.objects.bulk_create(received)
    devices_update(c.device for c in changes if c.previous.status != NOT_RECEIVED)
    # By id, not by instance: a related instance costs a descriptor call per field and row.
    event_id, transfer_id, adjustment_id = (
        None if obj is None else obj.pk for obj in (event, transfer, adjustment)
    )
    return ledger_append([
        DeviceMovement(
            organization_id=device.organization_id,
            device_id=device.pk,
            at=at,
            actor_id=actor.pk,
            kind=transition.kind,
            from_status=previous.status,
            to_status=device.status,
            from_custodian_id=previous.custodian_id,
            to_custodian_id=device.custodian_id,
            from_facility_id=previous.facility_id,
            facility_id=device.facility_id,
            from_kit_id=previous.kit_id,
            kit_id=device.kit_id,
            event_id=event_id,
            transfer_id=transfer_id,
            adjustment_id=adjustment_id,
            note=note,
        )
        for device, previous, transition in changes
    ])


def devices_transition(
    *,
    actor: User,
    devices: Iterable[Device],
    kind: str,
    event=None,
    transfer=None,
    adjustment=None,
    note: str = "",
    at: datetime.datetime | None = None,
    **new_state,
) -> list[Change]:
    """Make every device the same move and record it: ``device_transition`` for each (every
    refusal reported at once), then ``record_movements``."""
    changes, errors = [], []
    for device in devices:
        try:
            changes.append(device_transition(device, kind, event=event, **new_state))
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors, code="illegal_transition")
    if changes:
        record_movements(actor=actor, changes=changes, event=event, transfer=transfer,
                         adjustment=adjustment, note=note, at=at)
    return changes


# --- in transit: a sub-state of AVAILABLE, no movement until the transfer is answered ----------


def devices_set_in_transit(devices: Sequence[Device], transfer) -> None:
    """Mark available devices as travelling on ``transfer`` (they stay in the sender's custody)."""
    for device in devices:
        if device.status != S.AVAILABLE or device.pending_transfer_id:
            raise ValidationError(f"{device.label} can't be put in transit.", code="in_transit")
        device.pending_transfer = transfer
    Device.objects.filter(pk__in=[d.pk for d in devices]).update(pending_transfer=transfer)


def devices_clear_in_transit(devices: Sequence[Device]) -> None:
    """A declined transfer: its devices stay with the sender, no longer in transit."""
    for device in devices:
        device.pending_transfer = None
    Device.objects.filter(pk__in=[d.pk for d in devices]).update(pending_transfer=None)


# --- writing -------------------------------------------------------------------------------------

DEVICE_FIELDS = ["status", "custodian", "facility", "sold_on", "used_in", "pending_transfer",
                 "kit"]


def devices_update(devices: Iterable[Device]) -> None:
    """Write the devices' new state set-based (``core.db.bulk_update``): one statement on
    PostgreSQL whatever the number of lines and of distinct states (facility stock consumed in a
    case keeps the stocking order that sold each device), never a CASE WHEN per row and field.
    """
    bulk_update(list(devices), DEVICE_FIELDS)


def _locked_head(org_id: int, current_id: str) -> LedgerChainHead:
    head = LedgerChainHead.objects.select_for_update().filter(organization_id=org_id).first()
    if head is None:  # the organisation's first movement
        LedgerChainHead.objects.bulk_create(
            [LedgerChainHead(organization_id=org_id)], ignore_conflicts=True
        )
        head = LedgerChainHead.objects.select_for_update().get(organization_id=org_id)
    check_head_key(head, current_id)  # another key: refused (rotate_ledger_key)
    return head


def ledger_append(movements: list[DeviceMovement]) -> list[DeviceMovement]:
    """Write ``movements``, HMAC-chained after each organisation's ledger chain head (locked).

    Lock order: the callers hold the event and device rows already; the head comes next, and the
    document counter (billing) after it.
    """
    key = ledger_key()
    current_id = key_id(key)
    by_org: dict[int, list[DeviceMovement]] = {}
    for movement in movements:
        by_org.setdefault(movement.organization_id, []).append(movement)
    for org_id in sorted(by_org):
        head = _locked_head(org_id, current_id)
        head.last_seq, head.last_hash = chain_movements(
            by_org[org_id], head_seq=head.last_seq, head_hash=head.last_hash, key=key,
            kit_from=head.kit_content_from,
        )
        head.key_id = current_id
        head.save(update_fields=["last_seq", "last_hash", "key_id"])
    return bulk_insert(movements)


def kit_ledger_append(movement: KitMovement) -> KitMovement:
    """Write one kit movement, HMAC-chained on its organisation's chain (the head locked, after
    the kit and its devices)."""
    key = ledger_key()
    current_id = key_id(key)
    head = _locked_head(movement.organization_id, current_id)
    head.last_seq, head.last_hash = chain_kit_movements(
        [movement], head_seq=head.last_seq, head_hash=head.last_hash, key=key)
    head.key_id = current_id
    head.save(update_fields=["last_seq", "last_hash", "key_id"])
    movement.save(force_insert=True)
    return movement


# --- replay --------------------------------------------------------------------------------------


def movement_problem(
    *, kind: str, from_status: str, to_status: str, from_custodian_id, to_custodian_id,
    from_facility_id, to_facility_id, from_kit_id=None, to_kit_id=None,
) -> str | None:
    """Why a recorded movement is not a move the table allows, or None (``verify_ledger``)."""
    transition = transition_for(from_status, to_status, kind)
    if transition is None:
        return (
            f"{kind} from {status_label(from_status)} to {status_label(to_status)} is not a "
            "transition of the lifecycle"
        )
    if transition.moves == "custodian" and from_custodian_id == to_custodian_id:
        return f"{kind} leaves the custodian unchanged"
    if transition.moves == "facility" and from_facility_id == to_facility_id:
        return f"{kind} leaves the facility unchanged"
    if transition.moves == "kit" and from_kit_id == to_kit_id:
        return f"{kind} leaves the kit unchanged"
    if from_kit_id and not transition.kit_members:
        return f"{kind} moved a unit of a kit on its own"
    return None


# --- the diagram ---------------------------------------------------------------------------------


def _roles(transition: Transition) -> str:
    return ", ".join(r.label.lower() for r in User.Role if r in transition.roles)


def mermaid_diagram() -> str:
    """The state diagram drawn from ``TRANSITIONS`` (Mermaid ``stateDiagram-v2``)."""
    lines = ["stateDiagram-v2"]
    for status in S:
        lines.append(f'    state "{status.label}" as {status.value}')
    for t in TRANSITIONS:
        source = "[*]" if t.source == NOT_RECEIVED else t.source
        lines.append(f"    {source} --> {t.target}: {t.driver.label} ({_roles(t)})")
    return "\n".join(lines) + "\n"


def _sets(t: Transition) -> str:
    names = {None: "none", EVENT: "the event", EVENT_FACILITY: "the event's facility",
             EVENT_REPRESENTATIVE: "the event's rep", GIVEN: "given"}
    return ", ".join(f"{field} = {names[source]}" for field, source in t.sets) or "—"


def markdown_table() -> str:
    """``TRANSITIONS`` as a Markdown table (docs/lifecycle.md)."""
    rows = [
        "| from | to | movement kind | driven by | who may | must change | sets | kit member |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in TRANSITIONS:
        source = "(not received)" if t.source == NOT_RECEIVED else f"`{t.source}`"
        rows.append(
            f"| {source} | `{t.target}` | `{t.kind}` | {t.driver.label} | "
            f"`{t.permission}` ({_roles(t)}) | {t.moves or 'status'} | {_sets(t)} | "
            f"{'yes' if t.kit_members else 'refused'} |"
        )
    return "\n".join(rows) + "\n"
