"""The HMAC-chained ledger: rows written, changed, reordered or removed outside the application
(raw SQL as a superuser would, the append-only trigger disabled) are reported by verify_ledger."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from inventory.ledger import chain_problems
from inventory.models import DeviceMovement, LedgerChainHead

pytestmark = pytest.mark.django_db

ROW_TRIGGER = "inventory_devicemovement_append_only"


def verify(capsys) -> tuple[int, str]:
    try:
        call_command("verify_ledger")
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def as_superuser(*statements: str, params=None) -> None:
    """Run SQL with the append-only trigger disabled, as someone with owner rights would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE inventory_devicemovement DISABLE TRIGGER {ROW_TRIGGER}")
        for statement in statements:
            cursor.execute(statement, params)
        cursor.execute(f"ALTER TABLE inventory_devicemovement ENABLE TRIGGER {ROW_TRIGGER}")


@pytest.fixture
def ledger(world):
    """Three received devices, two of them sold: five chained movements."""
    devices = world.devices(3)
    world.stocking_order(devices[:2], facility=world.st_marys)
    movements = list(DeviceMovement.objects.filter(organization=world.org).order_by("chain_seq"))
    assert [m.chain_seq for m in movements] == [1, 2, 3, 4, 5]
    assert list(chain_problems()) == []
    return world, devices, movements


def test_movements_are_chained_and_verify_clean(ledger, capsys):
    world, _, movements = ledger
    assert all(len(m.chain_hash) == 64 for m in movements)
    assert len({m.chain_hash for m in movements}) == 5
    head = LedgerChainHead.objects.get(organization=world.org)
    assert (head.last_seq, head.last_hash) == (5, movements[-1].chain_hash)
    code, output = verify(capsys)
    assert code == 0 and "the chain is intact" in output


def test_a_forged_insert_with_a_matching_device_update_is_reported(ledger, capsys):
    """The audit's attack: a movement inserted by hand plus the device UPDATE that matches it
    replays cleanly, but it is not on the chain."""
    world, devices, _ = ledger
    device = devices[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_devicemovement (organization_id, device_id, at, actor_id, kind,"
            " from_status, to_status, from_custodian_id, to_custodian_id, note, chain_hash)"
            " VALUES (%s, %s, now(), %s, 'adjustment_removed', 'available', 'removed', %s,"
            " NULL, '', '')"
            " RETURNING id",
            [world.org.pk, device.pk, world.admin.pk, device.custodian_id],
        )
        forged_id = cursor.fetchone()[0]
        cursor.execute(
            "UPDATE inventory_device SET status = 'removed', custodian_id = NULL WHERE id = %s",
            [device.pk],
        )
    problems = list(chain_problems())
    assert [(p.movement_id, p.problem.split(":")[0]) for p in problems] == [
        (forged_id, "not chained")
    ]
    code, output = verify(capsys)
    assert code == 1 and f"movement #{forged_id}: not chained" in output


def test_a_forged_row_with_a_made_up_hash_is_reported(ledger, capsys):
    world, devices, movements = ledger
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_devicemovement (organization_id, device_id, at, actor_id, kind,"
            " from_status, to_status, from_custodian_id, note, chain_seq, chain_hash)"
            " VALUES (%s, %s, now(), %s, 'adjustment_removed', 'available', 'removed', %s,"
            " '', 6, %s)"
            " RETURNING id",
            [world.org.pk, devices[2].pk, world.admin.pk, devices[2].custodian_id,
             movements[-1].chain_hash],
        )
        forged_id = cursor.fetchone()[0]
    problems = {(p.movement_id, p.problem.split(":")[0]) for p in chain_problems()}
    assert (forged_id, "altered or forged") in problems
    assert (None, "forged") in problems  # the chain runs past its head
    code, output = verify(capsys)
    assert code == 1 and "altered or forged" in output


def test_an_altered_row_is_reported(ledger, capsys):
    _, _, movements = ledger
    target = movements[2]
    as_superuser(
        f"UPDATE inventory_devicemovement SET note = 'nothing to see' WHERE id = {target.pk}"
    )
    problems = [(p.movement_id, p.problem.split(":")[0]) for p in chain_problems()]
    assert problems == [(target.pk, "altered or forged")]
    code, output = verify(capsys)
    assert code == 1 and f"movement #{target.pk}: altered or forged" in output


def test_reordered_rows_are_reported(ledger, capsys):
    _, _, movements = ledger
    first, second = movements[1], movements[3]
    as_superuser(
        f"UPDATE inventory_devicemovement SET chain_seq = 1000 WHERE id = {first.pk}",
        f"UPDATE inventory_devicemovement SET chain_seq = {first.chain_seq} "
        f"WHERE id = {second.pk}",
        f"UPDATE inventory_devicemovement SET chain_seq = {second.chain_seq} "
        f"WHERE id = {first.pk}",
    )
    kinds = {p.problem.split(":")[0] for p in chain_problems()}
    assert {"reordered", "altered or forged"} <= kinds
    code, output = verify(capsys)
    assert code == 1 and "reordered" in output


def test_a_deleted_row_in_the_middle_is_reported(ledger, capsys):
    _, _, movements = ledger
    as_superuser(f"DELETE FROM inventory_devicemovement WHERE id = {movements[1].pk}")
    problems = [(p.movement_id, p.problem) for p in chain_problems()]
    assert (movements[2].pk, "deleted: movement(s) #2–#2 are missing before #3") in problems
    code, output = verify(capsys)
    assert code == 1 and "deleted" in output


def test_deleted_rows_at_the_end_are_reported(ledger, capsys):
    _, _, movements = ledger
    as_superuser(
        f"DELETE FROM inventory_devicemovement WHERE id IN ({movements[3].pk}, {movements[4].pk})"
    )
    problems = [p.problem for p in chain_problems()]
    assert any(p.startswith("deleted: the chain ends at #3 but its head says #5") for p in problems)
    code, output = verify(capsys)
    assert code == 1


def test_the_ledger_refuses_truncate(ledger):
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE inventory_devicemovement CASCADE")
    assert DeviceMovement.objects.count() == 5


def test_the_data_migration_chains_existing_rows_and_clears_patient_notes(ledger, world):
    """Rows written before the chain existed (no chain values, a patient ID in the note) are
    chained by migration inventory 0004, which empties those notes first."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("inventory.migrations.0004_ledger_truncate_and_chain")
    _, _, movements = ledger
    case = world.event("case", patient_id="PT-OLD-1")
    as_superuser(
        "UPDATE inventory_devicemovement SET chain_seq = NULL, chain_hash = ''",
        f"UPDATE inventory_devicemovement SET note = 'Patient ID PT-OLD-1', event_id = {case.pk} "
        f"WHERE id = {movements[3].pk}",
    )
    LedgerChainHead.objects.all().delete()
    assert {p.problem.split(":")[0] for p in chain_problems()} == {"not chained"}

    with connection.schema_editor() as editor:
        migration.forwards(apps, editor)

    assert list(chain_problems()) == []
    rows = list(DeviceMovement.objects.order_by("id").values_list("chain_seq", "note"))
    assert rows == [(n, "") for n in range(1, 6)]
    # The trigger is back on.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        DeviceMovement.objects.filter(pk=movements[0].pk).update(note="x")
