"""The ledger key id (issue 22, finding 9): the chain head names the key that signs it; another
key is a "key mismatch", not thousands of forgeries; appends with another key are refused; the
operator rotates with manage.py rotate_ledger_key, after which the chain verifies cleanly and a
forged or altered row, before or after the rotation, is still caught."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from inventory.ledger import chain_problems, derived_ledger_key, key_id, ledger_key
from inventory.models import DeviceMovement, LedgerChainHead, LedgerKeyRotation

pytestmark = [pytest.mark.django_db]

OLD = "old-ledger-key-0123456789abcdef"
NEW = "new-ledger-key-fedcba9876543210"


@pytest.fixture
def chained(world, settings):
    settings.LEDGER_KEY = OLD
    devices = world.devices(3)
    world.stocking_order(devices[:2], facility=world.st_marys)
    assert list(chain_problems()) == []
    return world, devices


def verify(capsys) -> tuple[int, str]:
    try:
        call_command("verify_ledger")
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_key_id_is_a_public_name_never_the_key(chained):
    world, _ = chained
    head = LedgerChainHead.objects.get(organization=world.org)
    assert head.key_id == key_id(OLD.encode()) and len(head.key_id) == 8
    assert OLD not in head.key_id
    assert key_id(OLD.encode()) != key_id(NEW.encode())


def test_another_key_is_named_a_key_mismatch_not_forgeries(chained, settings, capsys):
    settings.LEDGER_KEY = NEW
    problems = list(chain_problems())
    assert len(problems) == 1
    assert (f"key mismatch: the chain is signed with key {key_id(OLD.encode())}, the ledger key "
            f"here is {key_id(NEW.encode())}") in problems[0].problem
    assert not any("forged" in p.problem for p in problems)
    code, output = verify(capsys)
    assert code == 1 and "key mismatch" in output and "altered or forged" not in output


def test_an_append_with_another_key_is_refused_and_changes_nothing(chained, settings):
    world, devices = chained
    before = DeviceMovement.objects.count()
    settings.LEDGER_KEY = NEW
    with pytest.raises(ValidationError, match="signed with key .* rotate_ledger_key"):
        world.stocking_order([devices[2]], facility=world.st_marys)
    assert DeviceMovement.objects.count() == before
    devices[2].refresh_from_db()
    assert devices[2].status == "available"


def test_a_changed_secret_key_without_ledger_key_is_a_mismatch_too(world, settings):
    settings.LEDGER_KEY = ""
    world.devices(1)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    problems = list(chain_problems())
    assert len(problems) == 1 and "key mismatch" in problems[0].problem
    assert "derived from SECRET_KEY" in problems[0].problem


def rotate(monkeypatch, **kwargs):
    monkeypatch.setenv("FIELDSTOCK_OLD_LEDGER_KEY", OLD)
    call_command("rotate_ledger_key", old_key_env="FIELDSTOCK_OLD_LEDGER_KEY", **kwargs)


def test_a_rotated_chain_verifies_cleanly_and_continues(chained, settings, monkeypatch, capsys):
    world, devices = chained
    settings.LEDGER_KEY = NEW
    rotate(monkeypatch)
    captured = capsys.readouterr().out
    assert f"rotated {key_id(OLD.encode())} → {key_id(NEW.encode())} after movement #5" in captured
    rotation = LedgerKeyRotation.objects.get()
    head = LedgerChainHead.objects.get(organization=world.org)
    assert head.key_id == key_id(NEW.encode()) and head.last_hash == rotation.rotation_hash
    assert list(chain_problems()) == []
    # The chain continues with the new key, and still verifies.
    world.stocking_order([devices[2]], facility=world.st_marys)
    assert list(chain_problems()) == []
    code, output = verify(capsys)
    assert code == 0 and f"Ledger key {key_id(NEW.encode())} (LEDGER_KEY)" in output
    # Rotating again is a no-op; the old key is refused from now on.
    rotate(monkeypatch)
    assert "already signed with" in capsys.readouterr().out
    settings.LEDGER_KEY = OLD
    assert "key mismatch" in list(chain_problems())[0].problem


def test_rotation_from_a_derived_key(world, settings, monkeypatch):
    settings.LEDGER_KEY = ""
    settings.SECRET_KEY = "the-old-secret-key-of-this-installation-0123456789"
    world.devices(2)
    old_id = key_id(derived_ledger_key(settings.SECRET_KEY))
    settings.SECRET_KEY = "the-new-secret-key-of-this-installation-9876543210"
    assert "key mismatch" in list(chain_problems())[0].problem
    monkeypatch.setenv("OLD_SECRET", "the-old-secret-key-of-this-installation-0123456789")
    call_command("rotate_ledger_key", old_secret_key_env="OLD_SECRET")
    assert LedgerKeyRotation.objects.get().old_key_id == old_id
    assert list(chain_problems()) == []
    assert LedgerChainHead.objects.get(organization=world.org).key_id == key_id(ledger_key())


def test_rotation_refuses_a_wrong_old_key_or_a_broken_chain(chained, settings, monkeypatch):
    settings.LEDGER_KEY = NEW
    monkeypatch.setenv("WRONG", "not-the-old-key")
    with pytest.raises(CommandError, match="not rotated"):
        call_command("rotate_ledger_key", old_key_env="WRONG")
    assert not LedgerKeyRotation.objects.exists()
    with pytest.raises(CommandError, match="empty or unset"):
        call_command("rotate_ledger_key", old_key_env="NO_SUCH_VARIABLE_SET")


def test_after_rotation_a_forged_row_is_still_caught(chained, settings, monkeypatch):
    """Rows signed with the old key are checked against the digest the rotation vouched for;
    rows after it with the new key; the rotation itself with the new key."""
    from tests.security.test_ledger_chain import as_superuser

    world, devices = chained
    settings.LEDGER_KEY = NEW
    rotate(monkeypatch)
    world.stocking_order([devices[2]], facility=world.st_marys)
    assert list(chain_problems()) == []
    old_row = DeviceMovement.objects.get(organization=world.org, chain_seq=2)
    new_row = DeviceMovement.objects.get(organization=world.org, chain_seq=6)

    as_superuser("UPDATE inventory_devicemovement SET note = 'changed' WHERE id = %s",
                 params=[old_row.pk])
    problems = [p.problem for p in chain_problems()]
    assert len(problems) == 1 and "no longer match what the rotation vouched for" in problems[0]
    as_superuser("UPDATE inventory_devicemovement SET note = '' WHERE id = %s",
                 params=[old_row.pk])
    assert list(chain_problems()) == []

    as_superuser("UPDATE inventory_devicemovement SET note = 'changed' WHERE id = %s",
                 params=[new_row.pk])
    problems = [p.problem for p in chain_problems()]
    assert len(problems) == 1 and "#6's hash does not match" in problems[0]
    as_superuser("UPDATE inventory_devicemovement SET note = '' WHERE id = %s",
                 params=[new_row.pk])

    # A forged rotation record (someone without the new key) is caught.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_ledgerkeyrotation SET vouched_digest = %s",
                       ["0" * 64])
    problems = [p.problem for p in chain_problems()]
    assert any("key rotation after #5" in p and "does not verify" in p for p in problems)
