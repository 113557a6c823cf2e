"""The device lifecycle (inventory/lifecycle.py): one test per kind of row of the transition
table (the legal move passes, the illegal ones raise with a message for a person), the replay in
``verify_ledger``, and the generated diagram in docs/lifecycle.md."""

import itertools
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from inventory.lifecycle import (
    NOT_RECEIVED,
    QUARANTINE_REFUSALS,
    REFUSALS,
    TRANSITIONS,
    Change,
    Driver,
    State,
    device_transition,
    devices_transition,
    ledger_append,
    mermaid_diagram,
    movement_problem,
    quarantine_refusal,
    record_movements,
    transition_for,
)
from inventory.management.commands.lifecycle_diagram import render_doc
from inventory.models import Device, DeviceMovement, DeviceStatus, MovementKind
from inventory.selectors import ledger_discrepancies
from inventory.services import AdjustmentLine, devices_transfer, stock_adjustment_create
from tests.inventory.test_ledger_lifecycle import verify

S = DeviceStatus
K = MovementKind
STATUSES = [NOT_RECEIVED, *S.values]


def fresh(device: Device) -> Device:
    return Device.objects.select_related("custodian", "facility", "product").get(pk=device.pk)


def a_kit(world, devices=(), tag="LC-1"):
    """A kit of ``world``'s rep (a template of ``world.product``) holding ``devices``."""
    from inventory.kit_services import kit_create, kit_template_create

    template = kit_template_create(actor=world.admin, name=f"Set {tag}", product_line=world.line,
                                   items=[(world.product, 5)])
    return kit_create(actor=world.admin, template=template, tag=tag, custodian=world.rep,
                      devices=devices)


def device_in(world, status: str, *, sold: bool = True, in_kit: bool = False) -> Device:
    """A device of ``world`` in ``status``, made through the services (``sold``: a removed
    device that had been sold as facility stock; ``in_kit``: an available one in a kit; a loaned
    one is always in a kit)."""
    if status == S.LOANED or (status == S.AVAILABLE and in_kit):
        from events.loan_services import loan_create

        [device] = world.devices(1)
        kit = a_kit(world, [device])
        if status == S.LOANED:
            today = timezone.localdate()
            loan_create(actor=world.rep, kits=[kit], facility=world.st_marys,
                        representative=world.rep, date=today, due_back=today)
        return fresh(device)
    if status == S.QUARANTINED:  # taken by a recall where it was (facility stock, or rep stock)
        from inventory.recall_services import recall_open

        device = device_in(world, S.FACILITY_STOCK if sold and not in_kit else S.AVAILABLE,
                           in_kit=in_kit)
        recall_open(actor=world.admin, manufacturer=world.maker, reference=f"R-LC-{device.pk}",
                    reason="Test", recall_class="I", action="return", scope="serial_range",
                    serial_from=device.serial, serial_to=device.serial)
        return fresh(device)
    if status == NOT_RECEIVED:
        return Device(organization=world.org, product=world.product, serial="NEW-1", lot="L",
                      expiration_date=timezone.localdate())
    if status == S.AVAILABLE:
        [device] = world.devices(1)
    elif status == S.FACILITY_STOCK:
        [device] = world.facility_stock(1)
    elif status == S.CONSUMED:
        [device] = world.devices(1)
        case = world.event("case")
        world.add(case, [device])
        world.submit(case)
    else:
        [device] = world.facility_stock(1) if sold else world.devices(1)
        stock_adjustment_create(actor=world.admin, reason="lost",
                                lines=[AdjustmentLine(device=device, effect="remove")])
    return fresh(device)


def legal_state(world, row, device: Device) -> dict:
    """The ``new_state`` a service passes for ``row``."""
    event = world.event("case")
    return {
        K.RECEIVED: {"status": S.AVAILABLE, "custodian": world.rep},
        K.TRANSFERRED: {"custodian": world.rep2},
        K.SOLD_TO_FACILITY: {"status": S.FACILITY_STOCK, "custodian": None,
                             "facility": world.st_marys, "sold_on": event},
        K.SOLD_AND_CONSUMED: {"status": S.CONSUMED, "custodian": None,
                              "facility": world.st_marys, "sold_on": event, "used_in": event,
                              "kit": None},
        K.FACILITY_STOCK_CONSUMED: {"status": S.CONSUMED, "custodian": None, "used_in": event},
        K.RETURNED: {"status": S.AVAILABLE, "custodian": world.rep, "facility": None,
                     "sold_on": None},
        K.RETURNED_FOR_DESTRUCTION: {"status": S.REMOVED, "custodian": None, "facility": None,
                                     "sold_on": None},
        K.ADJUSTMENT_REMOVED: {"status": S.REMOVED, "custodian": None, "facility": None,
                               "kit": None},
        K.ADJUSTMENT_RESTORED: (
            {"status": S.FACILITY_STOCK, "facility": world.mercy} if row.target == S.FACILITY_STOCK
            else {"status": S.AVAILABLE, "custodian": world.rep2}
        ),
        K.ADJUSTMENT_MOVED: {"facility": world.mercy},
        K.KIT_PACKED: {"kit": a_kit(world, tag="LC-2")} if row.kind == K.KIT_PACKED else {},
        K.KIT_UNPACKED: {"kit": None},
        K.KIT_TRANSFERRED: {"custodian": world.rep2},
        K.KIT_LOANED: {"status": S.LOANED, "facility": world.st_marys},
        K.KIT_CHECKED_IN: {"status": S.AVAILABLE, "facility": None},
        K.KIT_LOAN_MOVED: {"status": S.LOANED, "facility": world.mercy},
        K.QUARANTINED: {},  # quarantined where it is
        K.RECALL_RETURNED: {},  # the row clears custodian, facility and the sale
    }[row.kind]


# --- the table itself ----------------------------------------------------------------------------


def test_the_table_names_every_movement_kind_once_per_driver():
    assert {t.kind for t in TRANSITIONS} == set(K.values)
    assert set(REFUSALS) == set(K.values)
    assert {t.driver for t in TRANSITIONS} == set(Driver)
    for kind in K.values:  # a kind is written by one driver, who may be several roles; a unit
        # of a loaned kit is sold and used, or removed as lost, by its kit's own driver
        assert len({(t.driver, t.roles) for t in TRANSITIONS
                    if t.kind == kind and not t.kit_members}) <= 1
    moves = [(t.source, t.target, t.kind) for t in TRANSITIONS]
    assert len(moves) == len(set(moves))
    # Custody-only and facility-only rows say what must change; all others change the status.
    assert {(t.kind, t.moves) for t in TRANSITIONS if t.source == t.target} == {
        (K.TRANSFERRED, "custodian"), (K.ADJUSTMENT_MOVED, "facility"),
        (K.KIT_PACKED, "kit"), (K.KIT_UNPACKED, "kit"), (K.KIT_TRANSFERRED, "custodian"),
        (K.KIT_LOAN_MOVED, "facility"),
    }
    assert all(t.moves == "" for t in TRANSITIONS if t.source != t.target)
    # Nothing leaves CONSUMED; only a receipt starts from nothing.
    assert not [t for t in TRANSITIONS if t.source == S.CONSUMED]
    assert [t.kind for t in TRANSITIONS if t.source == NOT_RECEIVED] == [K.RECEIVED]


# --- one legal move per row ----------------------------------------------------------------------


@pytest.mark.parametrize("row", TRANSITIONS,
                         ids=lambda t: f"{t.source or 'new'}-{t.kind}-{t.target}")
def test_each_row_of_the_table_is_a_legal_move(world, row):
    device = device_in(world, row.source, sold=row.target == S.FACILITY_STOCK,
                       in_kit=row.kit_members)
    before = State.of(device)
    change = device_transition(device, row.kind, **legal_state(world, row, device))
    assert change == Change(device, before, row)
    assert device.status == row.target
    assert device.pending_transfer_id is None


@pytest.mark.parametrize("kind", [K.TRANSFERRED, K.ADJUSTMENT_REMOVED, K.ADJUSTMENT_RESTORED,
                                  K.ADJUSTMENT_MOVED, K.SOLD_TO_FACILITY])
def test_a_recorded_move_writes_the_device_and_one_movement(world, kind):
    row = next(t for t in TRANSITIONS if t.kind == kind)
    device = device_in(world, row.source, sold=row.target == S.FACILITY_STOCK)
    before = State.of(device)
    count = DeviceMovement.objects.count()
    record_movements(actor=world.admin,
                     changes=[device_transition(device, kind, **legal_state(world, row, device))])
    stored = Device.objects.get(pk=device.pk)
    assert (stored.status, stored.custodian_id, stored.facility_id, stored.kit_id) == tuple(
        State.of(device))
    movement = DeviceMovement.objects.latest("chain_seq")
    assert DeviceMovement.objects.count() == count + 1
    assert (movement.kind, movement.from_status, movement.from_custodian_id,
            movement.from_facility_id, movement.from_kit_id, movement.to_status) == (
        kind, *before, row.target)
    assert list(ledger_discrepancies()) == []


def test_a_receipt_inserts_the_device_with_its_movement(world):
    device = device_in(world, NOT_RECEIVED)
    changes = devices_transition(actor=world.admin, devices=[device], kind=K.RECEIVED,
                                 status=S.AVAILABLE, custodian=world.rep)
    assert changes[0].previous == State(NOT_RECEIVED, None, None)
    assert fresh(device).custodian == world.rep
    movement = DeviceMovement.objects.get(device=device)
    assert (movement.kind, movement.from_status, movement.to_status) == (K.RECEIVED, "",
                                                                          S.AVAILABLE)


# --- illegal moves -------------------------------------------------------------------------------

ILLEGAL_SOURCES = [
    (status, kind) for status, kind in itertools.product(STATUSES, K.values)
    if not any(t.source == status and t.kind == kind for t in TRANSITIONS)
]


@pytest.mark.parametrize(("status", "kind"), ILLEGAL_SOURCES,
                         ids=[f"{s or 'new'}-{k}" for s, k in ILLEGAL_SOURCES])
def test_a_kind_of_move_from_a_status_outside_the_table_is_refused(world, status, kind):
    device = device_in(world, status)
    before = State.of(device), device.sold_on_id, device.used_in_id
    row = next(t for t in TRANSITIONS if t.kind == kind)
    with pytest.raises(ValidationError) as refused:
        device_transition(device, kind, **legal_state(world, row, device))
    message = refused.value.messages[0]
    if status == S.QUARANTINED:  # the refusal names the recall
        assert message == quarantine_refusal(device, QUARANTINE_REFUSALS[kind])
        assert f"is quarantined under recall R-LC-{device.pk} and can't be " in message
    else:
        assert message == REFUSALS[kind].format(
            label=device.label,
            status="not yet received" if status == NOT_RECEIVED else S(status).label.lower(),
        )
    assert (State.of(device), device.sold_on_id, device.used_in_id) == before  # unchanged


def test_the_refusals_read_like_the_services_messages(world):
    device = device_in(world, S.CONSUMED)
    with pytest.raises(ValidationError) as refused:
        device_transition(device, K.TRANSFERRED, custodian=world.rep2)
    assert refused.value.messages == [f"SN {device.serial} is consumed and can't be transferred."]


def test_the_services_refuse_with_the_tables_message(world):
    from tests.events.conftest import db_state

    consumed, stock = device_in(world, S.CONSUMED), device_in(world, S.FACILITY_STOCK)
    before = db_state()
    with pytest.raises(ValidationError) as refused:
        devices_transfer(actor=world.admin, devices=[consumed, stock], to_custodian=world.rep2)
    assert refused.value.messages == [
        f"SN {consumed.serial} is consumed and can't be transferred.",
        f"SN {stock.serial} is facility stock and can't be transferred.",
    ]
    with pytest.raises(ValidationError) as refused:
        stock_adjustment_create(actor=world.admin, reason="found",
                                lines=[AdjustmentLine(device=stock, effect="restore")])
    assert refused.value.messages == [
        f"SN {stock.serial} is facility stock: only removed devices can be restored."
    ]
    assert db_state() == before


def test_a_known_kind_to_a_target_outside_the_table_is_refused(world):
    device = device_in(world, S.FACILITY_STOCK)
    with pytest.raises(ValidationError, match="is facility stock and can't become consumed that"):
        device_transition(device, K.RETURNED, status=S.CONSUMED, used_in=device.sold_on)
    assert fresh(device).status == S.FACILITY_STOCK


def test_a_transfer_or_facility_move_that_changes_nothing_is_refused(world):
    [device] = world.devices(1)
    with pytest.raises(ValidationError, match="is already in Ann Rep's custody"):
        device_transition(device, K.TRANSFERRED, custodian=world.rep)
    [stock] = world.facility_stock(1)
    stock = fresh(stock)
    with pytest.raises(ValidationError, match="is already facility stock of St. Mary's"):
        device_transition(stock, K.ADJUSTMENT_MOVED, facility=world.st_marys)


def test_a_move_that_breaks_a_status_rule_is_refused(world):
    [device] = world.devices(1)
    with pytest.raises(ValidationError, match="facility stock without a facility and a sale"):
        device_transition(device, K.SOLD_TO_FACILITY, status=S.FACILITY_STOCK, custodian=None,
                          facility=world.st_marys)  # no sold_on
    assert (device.status, device.custodian_id) == (S.AVAILABLE, world.rep.pk)


def test_a_device_in_transit_only_moves_with_its_transfer(world):
    [device] = world.devices(1)
    transfer = devices_transfer(actor=world.rep, devices=[device], to_custodian=world.rep2)
    device = fresh(device)
    assert device.pending_transfer_id == transfer.pk
    with pytest.raises(ValidationError, match="is in transit: answer the transfer first"):
        device_transition(device, K.ADJUSTMENT_REMOVED, status=S.REMOVED, custodian=None)
    change = device_transition(device, K.TRANSFERRED, custodian=world.rep2)
    assert (change.device.pending_transfer, change.device.custodian) == (None, world.rep2)


def test_a_role_the_table_does_not_name_may_not_record_a_move(world):
    [device] = world.devices(1)
    change = device_transition(device, K.ADJUSTMENT_REMOVED, status=S.REMOVED, custodian=None)
    with pytest.raises(PermissionDenied, match="Stock adjustment, remove"):
        record_movements(actor=world.rep, changes=[change])
    with pytest.raises(TypeError):
        record_movements(actor=world.admin, changes=[(device, State.of(device))])
    assert fresh(device).status == S.AVAILABLE


def test_only_state_fields_can_be_set():
    with pytest.raises(TypeError):
        device_transition(Device(), K.RECEIVED, lot="X")


# --- the replay in verify_ledger -----------------------------------------------------------------


def forge_movement(world, device: Device, **fields) -> DeviceMovement:
    """A movement written (and chained) without the lifecycle, as a bug in a service would."""
    values = {"organization_id": world.org.pk, "device": device, "actor": world.admin,
              "at": timezone.now(), **fields}
    [movement] = ledger_append([DeviceMovement(**values)])
    return movement


def test_verify_ledger_reports_a_movement_outside_the_table(world, capsys):
    [device, other] = world.devices(2)
    assert verify(capsys)[0] == 0
    # A "facility move" of rep inventory: available → available, written behind the lifecycle's
    # back but properly chained, and the device changed to match, so only the table objects.
    movement = forge_movement(
        world, device, kind=K.ADJUSTMENT_MOVED, from_status=S.AVAILABLE, to_status=S.AVAILABLE,
        from_custodian_id=world.rep.pk, to_custodian_id=world.rep2.pk,
    )
    Device.objects.filter(pk=device.pk).update(custodian=world.rep2)
    code, output = verify(capsys)
    assert code == 1
    assert (f"device #{device.pk} SN {device.serial}: movement #{movement.pk}: adjustment_moved "
            "from available to available is not a transition of the lifecycle") in output
    assert "the chain is intact" not in output and "1 discrepancies found." in output
    assert [d.device_id for d in ledger_discrepancies()] == [device.pk]
    assert f"SN {other.serial}" not in output


def test_verify_ledger_reports_a_transfer_that_moves_nothing(world):
    [device] = world.devices(1)
    movement = forge_movement(
        world, device, kind=K.TRANSFERRED, from_status=S.AVAILABLE, to_status=S.AVAILABLE,
        from_custodian_id=world.rep.pk, to_custodian_id=world.rep.pk,
    )
    assert [d.problem for d in ledger_discrepancies()] == [
        f"movement #{movement.pk}: transferred leaves the custodian unchanged"
    ]


def test_movement_problem_follows_the_table():
    for status_from, status_to, kind in itertools.product(STATUSES, S.values, K.values):
        row = transition_for(status_from, status_to, kind)
        from_kit = 5 if row and row.kit_members else None
        ids = {"from_custodian_id": 1, "to_custodian_id": 2, "from_facility_id": 3,
               "to_facility_id": 4, "from_kit_id": from_kit,
               "to_kit_id": 6 if row and row.moves == "kit" else from_kit}
        problem = movement_problem(kind=kind, from_status=status_from, to_status=status_to, **ids)
        assert (problem is None) == (transition_for(status_from, status_to, kind) is not None)


# --- the diagram ---------------------------------------------------------------------------------


def test_the_committed_diagram_is_the_one_the_table_draws():
    doc = Path(settings.BASE_DIR) / "docs" / "lifecycle.md"
    text = doc.read_text(encoding="utf-8")
    assert text == render_doc(text), (
        "docs/lifecycle.md differs from inventory.lifecycle.TRANSITIONS: run "
        "`manage.py lifecycle_diagram --write`"
    )
    assert "```mermaid\n" + mermaid_diagram() + "```" in text


def test_the_command_prints_the_mermaid_diagram(capsys):
    call_command("lifecycle_diagram")
    out = capsys.readouterr().out
    assert out == mermaid_diagram()
    assert out.startswith("stateDiagram-v2\n")
    assert "    [*] --> available: Receiving (admin)\n" in out
    assert "    available --> available: Transfer (admin, rep)\n" in out
    assert ("    facility_stock --> facility_stock: Stock adjustment, move to another facility "
            "(admin)\n") in out
    assert out.count(" --> ") == len(TRANSITIONS)
