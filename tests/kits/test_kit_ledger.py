"""Kit membership and the kit ledger are on the HMAC chain (inventory/ledger.py, content version
2): a movement's kit columns and every ``KitMovement`` changed, deleted or forged outside the
application (as the owner, the append-only trigger disabled) are reported by verify_ledger; the
chains written before migration 0017 keep verifying; a key rotation vouches for kit movements too.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from events.loan_services import kit_check_in
from inventory.ledger import GENESIS, chain_problems, movement_content, movement_hash
from inventory.models import (
    Device,
    DeviceMovement,
    KitMovement,
    LedgerChainHead,
    LedgerKeyRotation,
    MovementKind,
)

pytestmark = pytest.mark.django_db

DEVICE_TRIGGER = "inventory_devicemovement_append_only"
KIT_TRIGGER = "inventory_kitmovement_append_only"


def as_owner(table: str, trigger: str, statement: str, params=None) -> None:
    """Run SQL with the table's append-only trigger disabled, as its owner could."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cursor.execute(statement, params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def verify(capsys) -> tuple[int, str]:
    try:
        call_command("verify_ledger")
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def loaned(kits):
    """A kit built (5 units), loaned and checked in: device and kit movements on one chain."""
    kit = kits.build()
    loan = kits.loan(kit)
    kit_check_in(actor=kits.world.rep, kit=kit, present=kits.members(kit))
    assert list(chain_problems()) == []
    return kits, kit, loan


def test_kit_movements_share_the_organisations_chain(loaned, capsys):
    kits, kit, _ = loaned
    org = kits.world.org
    kit_rows = list(KitMovement.objects.filter(kit=kit).order_by("chain_seq"))
    assert [m.kind for m in kit_rows] == ["built", "packed", "loaned", "checked_in"]
    assert all(m.chain_seq and len(m.chain_hash) == 64 for m in kit_rows)
    seqs = sorted(
        [
            *DeviceMovement.objects.filter(organization=org).values_list("chain_seq", flat=True),
            *KitMovement.objects.filter(organization=org).values_list("chain_seq", flat=True),
        ]
    )
    head = LedgerChainHead.objects.get(organization=org)
    assert seqs == list(range(1, head.last_seq + 1))  # one sequence, no gap, no repeat
    assert head.kit_content_from == 1  # a chain begun after migration 0017 covers kits from #1
    code, output = verify(capsys)
    assert code == 0 and "the chain is intact" in output


def test_changing_a_movements_kit_column_is_reported(loaned, capsys):
    kits, kit, _ = loaned
    packed = DeviceMovement.objects.filter(kind=MovementKind.KIT_PACKED, kit=kit).first()
    other = kits.build(tag="K-2")
    as_owner(
        "inventory_devicemovement",
        DEVICE_TRIGGER,
        "UPDATE inventory_devicemovement SET kit_id = %s WHERE id = %s",
        [other.pk, packed.pk],
    )
    problems = [p for p in chain_problems() if p.movement_id == packed.pk]
    assert len(problems) == 1
    assert "altered or forged" in problems[0].problem and not problems[0].kit_movement
    code, output = verify(capsys)
    assert code == 1 and f"movement #{packed.pk}: altered or forged" in output

    # Taking a unit's kit away from its movement (from_kit) is caught the same way.
    as_owner(
        "inventory_devicemovement",
        DEVICE_TRIGGER,
        "UPDATE inventory_devicemovement SET kit_id = %s WHERE id = %s",
        [kit.pk, packed.pk],
    )
    assert list(chain_problems()) == []
    checked_in = DeviceMovement.objects.filter(kind=MovementKind.KIT_CHECKED_IN).first()
    as_owner(
        "inventory_devicemovement",
        DEVICE_TRIGGER,
        "UPDATE inventory_devicemovement SET from_kit_id = NULL WHERE id = %s",
        [checked_in.pk],
    )
    assert [p.movement_id for p in chain_problems()] == [checked_in.pk]


def test_changing_or_deleting_a_kit_movement_is_reported(loaned, capsys):
    kits, kit, _ = loaned
    loaned_row = KitMovement.objects.get(kit=kit, kind="loaned")
    as_owner(
        "inventory_kitmovement",
        KIT_TRIGGER,
        "UPDATE inventory_kitmovement SET facility_id = %s WHERE id = %s",
        [kits.world.mercy.pk, loaned_row.pk],
    )
    problems = list(chain_problems())
    assert [(p.movement_id, p.kit_movement) for p in problems] == [(loaned_row.pk, True)]
    assert "altered or forged" in problems[0].problem
    code, output = verify(capsys)
    assert code == 1 and f"kit movement #{loaned_row.pk}: altered or forged" in output

    as_owner(
        "inventory_kitmovement",
        KIT_TRIGGER,
        "UPDATE inventory_kitmovement SET facility_id = %s WHERE id = %s",
        [kits.world.st_marys.pk, loaned_row.pk],
    )
    assert list(chain_problems()) == []
    as_owner(
        "inventory_kitmovement",
        KIT_TRIGGER,
        "DELETE FROM inventory_kitmovement WHERE id = %s",
        [loaned_row.pk],
    )
    problems = [p.problem for p in chain_problems()]
    assert problems == [
        f"deleted: movement(s) #{loaned_row.chain_seq}–#{loaned_row.chain_seq}"
        f" are missing before #{loaned_row.chain_seq + 1}"
    ]


def test_a_forged_kit_movement_is_reported_and_the_kit_ledger_refuses_truncate(loaned):
    kits, kit, _ = loaned
    w = kits.world
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_kitmovement (organization_id, kit_id, at, actor_id, kind, "
            "units, note, chain_hash) VALUES (%s, %s, now(), %s, 'unpacked', 1, '', '') "
            "RETURNING id",
            [w.org.pk, kit.pk, w.admin.pk],
        )
        forged = cursor.fetchone()[0]
    problems = list(chain_problems())
    assert [(p.movement_id, p.kit_movement, p.problem.split(":")[0]) for p in problems] == [
        (forged, True, "not chained")
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE inventory_kitmovement CASCADE")


def test_rows_chained_before_0017_keep_their_bytes(loaned):
    """A head's kit_content_from marks where content version 2 starts: rows before it are
    checked with the first release's bytes (kit columns outside), rows from it on with them; moving
    the marker either way makes the rows it passes fail."""
    kits, _, _ = loaned
    head = LedgerChainHead.objects.get(organization=kits.world.org)
    first = DeviceMovement.objects.get(organization=kits.world.org, chain_seq=1)
    values = {
        f: getattr(first, f)
        for f in (
            "organization_id",
            "device_id",
            "at",
            "actor_id",
            "kind",
            "from_status",
            "to_status",
            "from_custodian_id",
            "to_custodian_id",
            "from_facility_id",
            "facility_id",
            "event_id",
            "transfer_id",
            "adjustment_id",
            "note",
            "from_kit_id",
            "kit_id",
        )
    }
    from inventory.ledger import ledger_key

    assert first.chain_hash == movement_hash(ledger_key(), GENESIS, values, 1, with_kit=True)
    assert movement_content(values, 1, with_kit=True).startswith(movement_content(values, 1))
    LedgerChainHead.objects.filter(pk=head.pk).update(kit_content_from=head.last_seq + 1)
    assert len(list(chain_problems())) == DeviceMovement.objects.count()


def test_a_key_rotation_vouches_for_kit_movements(loaned, settings, monkeypatch):
    kits, kit, _ = loaned
    old = settings.LEDGER_KEY or None
    monkeypatch.setenv("OLD_LEDGER_KEY_FOR_TEST", old or "")
    if not old:
        monkeypatch.setenv("OLD_SECRET_FOR_TEST", settings.SECRET_KEY)
        settings.LEDGER_KEY = "the-new-ledger-key-0123456789abcdef"
        call_command("rotate_ledger_key", old_secret_key_env="OLD_SECRET_FOR_TEST")
    else:
        settings.LEDGER_KEY = "the-new-ledger-key-0123456789abcdef"
        call_command("rotate_ledger_key", old_key_env="OLD_LEDGER_KEY_FOR_TEST")
    assert LedgerKeyRotation.objects.count() == 1
    # After the rotation the chain goes on (a new kit and its movements), and verifies.
    kits.build(tag="K-3")
    assert list(chain_problems()) == []
    before = KitMovement.objects.get(kit=kit, kind="checked_in")
    as_owner(
        "inventory_kitmovement",
        KIT_TRIGGER,
        "UPDATE inventory_kitmovement SET units = units + 1 WHERE id = %s",
        [before.pk],
    )
    problems = [p.problem for p in chain_problems()]
    assert len(problems) == 1 and "no longer match what the rotation vouched for" in problems[0]
    assert Device.objects.filter(kit=kit).count() == 5


def test_migration_0017_keeps_old_chains_and_chains_the_kit_movements_it_finds(loaned):
    """As a database from before 0017: device movements chained with the first release's bytes,
    kit movements unchained. The migration's data step marks where content version 2 begins
    and appends the kit movements to the chain: everything verifies, and so do new movements."""
    import importlib

    from django.apps import apps

    from inventory.ledger import chain_movements, ledger_key

    migration = importlib.import_module("inventory.migrations.0017_ledger_kits")
    kits, kit, _ = loaned
    org = kits.world.org
    movements = list(DeviceMovement.objects.filter(organization=org).order_by("id"))
    seq, last = chain_movements(movements, head_seq=0, head_hash=GENESIS, key=ledger_key())
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE inventory_devicemovement DISABLE TRIGGER {DEVICE_TRIGGER}")
        cursor.execute(f"ALTER TABLE inventory_kitmovement DISABLE TRIGGER {KIT_TRIGGER}")
        cursor.execute("UPDATE inventory_kitmovement SET chain_seq = NULL, chain_hash = ''")
        cursor.execute("UPDATE inventory_devicemovement SET chain_seq = NULL")
        for movement in movements:
            cursor.execute(
                "UPDATE inventory_devicemovement SET chain_seq = %s, chain_hash = %s WHERE id = %s",
                [movement.chain_seq, movement.chain_hash, movement.pk],
            )
        cursor.execute(f"ALTER TABLE inventory_devicemovement ENABLE TRIGGER {DEVICE_TRIGGER}")
        cursor.execute(f"ALTER TABLE inventory_kitmovement ENABLE TRIGGER {KIT_TRIGGER}")
    LedgerChainHead.objects.filter(organization=org).update(
        last_seq=seq, last_hash=last, kit_content_from=1
    )
    assert {p.problem.split(":")[0] for p in chain_problems()} >= {"not chained"}

    with connection.schema_editor() as editor:
        migration.forwards(apps, editor)

    head = LedgerChainHead.objects.get(organization=org)
    assert head.kit_content_from == len(movements) + 1
    assert head.last_seq == len(movements) + KitMovement.objects.filter(organization=org).count()
    assert list(chain_problems()) == []
    kits.loan(kits.build(tag="K-NEW"))
    assert list(chain_problems()) == []
