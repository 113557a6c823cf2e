"""The tamper-evident ledger: every DeviceMovement is HMAC-chained to the previous movement of
its organisation.

``chain_hash(n) = HMAC-SHA256(key, chain_hash(n-1) || canonical content of movement n)``, where the
content includes the movement's per-organisation sequence number ``chain_seq``. The key
(``LEDGER_KEY``, or one derived from ``SECRET_KEY`` with its own salt) never enters the database,
so someone who can write rows but does not hold the key cannot forge, alter, reorder or delete
movements without ``verify_ledger`` noticing. ``LedgerChainHead`` holds each organisation's last
sequence number and hash; ``inventory.lifecycle.ledger_append`` (called by ``record_movements``)
locks it (after the device rows, before the document counter) so concurrent transactions chain one
after the other.

Key ids: the head records which key signs the chain (``key_id``: the first 8 hex digits of
HMAC(key, "fieldstock-ledger-key-id"), never the key). An append with another key is refused, and
``verify_ledger`` names a key mismatch as such instead of reporting every row as forged. The key
changes only through ``manage.py rotate_ledger_key`` (``rotate_key`` below): with the old key it
verifies the chain, then records a ``LedgerKeyRotation`` signed with the new key over the old
chain's last hash and a digest of every movement up to it; the next movement chains on the
rotation's hash. Verification then checks the rotation with the current key, the movements after
it with the current key, and the movements before it against the digest the rotation vouches for
(so an altered old row is still caught, and the old key is no longer needed).

Kits (content version 2). A device movement's kit columns (``from_kit_id``, ``kit_id``) are in its
content from the head's ``kit_content_from`` sequence number on: migration inventory 0017 set it
to each organisation's next number, so the rows chained before it hash exactly as they did (their
kit columns are not covered), and every later row covers them; a new organisation's chain covers
them from #1. Moving the marker either way makes the rows it passes fail. The kit ledger
(``KitMovement``) shares the organisation's chain: a kit movement takes the next sequence number
like a device movement, and its content starts with the word ``kit`` (``KIT_MOVEMENT_FIELDS``), so
the two kinds of row can't be mistaken for each other. One head, one key, one rotation cover both.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from operator import attrgetter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.expressions import RawSQL
from django.utils.crypto import salted_hmac

GENESIS = "0" * 64
CONTENT_FIELDS = (
    "organization_id", "device_id", "at", "actor_id", "kind", "from_status", "to_status",
    "from_custodian_id", "to_custodian_id", "from_facility_id", "facility_id", "event_id",
    "transfer_id", "adjustment_id", "note",
)
# Appended to a device movement's content from the head's kit_content_from on.
KIT_FIELDS = ("from_kit_id", "kit_id")
# A kit movement's content, after the word "kit".
KIT_MOVEMENT_FIELDS = (
    "organization_id", "kit_id", "at", "actor_id", "kind", "from_custodian_id",
    "to_custodian_id", "facility_id", "event_id", "transfer_id", "units", "note",
)
KIT_ROW = "kit"


def ledger_key() -> bytes:
    if settings.LEDGER_KEY:
        return settings.LEDGER_KEY.encode()
    return derived_ledger_key(settings.SECRET_KEY)


def derived_ledger_key(secret_key: str) -> bytes:
    """The ledger key derived from a ``SECRET_KEY`` (when LEDGER_KEY is not set)."""
    return salted_hmac(
        "fieldstock.inventory.ledger-chain", "ledger key", secret=secret_key,
        algorithm="sha256",
    ).digest()


KEY_ID_LABEL = b"fieldstock-ledger-key-id"


def key_id(key: bytes) -> str:
    """A short public name of a key: the first 8 hex digits of HMAC(key, KEY_ID_LABEL)."""
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:8]


def key_source() -> str:
    return "LEDGER_KEY" if settings.LEDGER_KEY else "derived from SECRET_KEY (LEDGER_KEY unset)"


class LedgerKeyMismatch(ValidationError):
    pass


def check_head_key(head, current_id: str) -> None:
    """Refuse to extend a chain signed with another key (the head is locked by the caller)."""
    if head.key_id and head.key_id != current_id:
        raise LedgerKeyMismatch(
            f"The device ledger cannot be written: it is signed with key {head.key_id} and this "
            f"server's ledger key is {current_id}. Nothing was changed. An operator must set "
            "LEDGER_KEY back to the key that signed it, or rotate it with "
            "manage.py rotate_ledger_key."
        )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int):  # ids, statuses, kinds, notes: the common cells first
        return str(value)
    if hasattr(value, "astimezone"):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def _content(values: Sequence, seq: int, after: Sequence = (), before: Sequence = ()) -> bytes:
    """The canonical bytes of one movement from its CONTENT_FIELDS values, in that order (then
    its sequence number, then ``after``: the kit columns of content version 2; ``before``: the
    word that marks a kit movement)."""
    # The common cells (strings, and the times _rows reads as text; ids; None) without a call
    # each: verify_ledger runs this for every movement. The same text as _text.
    parts = [value if value.__class__ is str else "" if value is None
             else str(value) if value.__class__ is int else _text(value)
             for value in (*before, *values)]
    parts.append(str(seq))
    parts.extend(_text(value) for value in after)
    # Unit separators and the lengths make the encoding unambiguous whatever a note contains.
    return "\x1f".join([f"{len(part)}:{part}" for part in parts]).encode()


def movement_content(values: dict, seq: int, *, with_kit: bool = False) -> bytes:
    """The canonical bytes of one movement: its fields, then its sequence number (then its kit
    columns, ``with_kit``: from the head's ``kit_content_from`` on)."""
    after = [values[name] for name in KIT_FIELDS] if with_kit else ()
    return _content([values[name] for name in CONTENT_FIELDS], seq, after)


def movement_hash(key: bytes, previous_hash: str, values: dict, seq: int, *,
                  with_kit: bool = False) -> str:
    return hmac.new(
        key, previous_hash.encode() + b"\x1e" + movement_content(values, seq, with_kit=with_kit),
        hashlib.sha256,
    ).hexdigest()


def kit_movement_content(values: dict, seq: int) -> bytes:
    """The canonical bytes of one kit movement: "kit", its fields, its sequence number."""
    return _content([values[name] for name in KIT_MOVEMENT_FIELDS], seq, before=(KIT_ROW,))


def kit_movement_hash(key: bytes, previous_hash: str, values: dict, seq: int) -> str:
    return hmac.new(
        key, previous_hash.encode() + b"\x1e" + kit_movement_content(values, seq), hashlib.sha256
    ).hexdigest()


def row_content(row: dict, seq: int, *, kit_from: int) -> bytes:
    """The content of a row read by ``_rows`` (a device or a kit movement)."""
    if row.get("row") == KIT_ROW:
        return kit_movement_content(row, seq)
    return movement_content(row, seq, with_kit=seq >= kit_from)


_content_values = attrgetter(*CONTENT_FIELDS)
_kit_values = attrgetter(*KIT_FIELDS)
_kit_movement_values = attrgetter(*KIT_MOVEMENT_FIELDS)


def chain_movements(movements: Sequence, *, head_seq: int, head_hash: str, key: bytes,
                    kit_from: int | None = None) -> tuple[int, str]:
    """Give each (unsaved) movement its sequence number and hash after the head; return the new
    head (sequence number, hash). The same bytes as ``movement_hash``, read in one call per
    movement. ``kit_from``: the head's ``kit_content_from`` (None: content version 1, as
    migration 0004 chained the rows it found)."""
    seq, previous = head_seq, head_hash
    for movement in movements:
        seq += 1
        after = _kit_values(movement) if kit_from is not None and seq >= kit_from else ()
        content = _content(_content_values(movement), seq, after)
        movement.chain_seq = seq
        movement.chain_hash = hmac.new(
            key, previous.encode() + b"\x1e" + content, hashlib.sha256
        ).hexdigest()
        previous = movement.chain_hash
    return seq, previous


def chain_kit_movements(movements: Sequence, *, head_seq: int, head_hash: str,
                        key: bytes) -> tuple[int, str]:
    """``chain_movements`` for kit movements (``kit_movement_hash``'s bytes)."""
    seq, previous = head_seq, head_hash
    for movement in movements:
        seq += 1
        content = _content(_kit_movement_values(movement), seq, before=(KIT_ROW,))
        movement.chain_seq = seq
        movement.chain_hash = hmac.new(
            key, previous.encode() + b"\x1e" + content, hashlib.sha256
        ).hexdigest()
        previous = movement.chain_hash
    return seq, previous


@dataclass(frozen=True)
class ChainProblem:
    organization_id: int
    movement_id: int | None
    problem: str
    kit_movement: bool = False

    @property
    def where(self) -> str:
        if self.movement_id is None:
            return "chain"
        return f"{'kit movement' if self.kit_movement else 'movement'} #{self.movement_id}"


def _part_digest_add(digest, row: dict, seq: int, kit_from: int) -> None:
    digest.update(f"{seq}:{row['chain_hash'] or ''}\x1e".encode())
    digest.update(row_content(row, seq, kit_from=kit_from))
    digest.update(b"\x1d")


def rotation_hash(key: bytes, *, organization_id: int, after_seq: int, old_key_id: str,
                  new_key_id: str, old_head_hash: str, vouched_digest: str) -> str:
    content = "\x1f".join(["rotation", str(organization_id), str(after_seq), old_key_id,
                            new_key_id, vouched_digest]).encode()
    return hmac.new(key, old_head_hash.encode() + b"\x1e" + content, hashlib.sha256).hexdigest()


# A movement's time as ``_text`` writes it, made by PostgreSQL: reading 13.7M timestamps as
# datetimes and formatting them back was a large part of verify_ledger's time at ten million
# devices. The same characters: UTC, microseconds always six digits, a Z.
AT_TEXT = RawSQL("""to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""", ())


def _with_at_text(rows, kit: bool = False):
    for row in rows:
        row["at"] = row.pop("at_text")
        if kit:
            row["row"] = KIT_ROW
        yield row


def _rows(movements, kit_movements):
    """Every chained row, device and kit movements merged in chain order (a kit movement is
    marked ``row="kit"``); each row's time is its canonical text (``AT_TEXT``)."""
    device_fields = [name for name in (*CONTENT_FIELDS, *KIT_FIELDS) if name != "at"]
    device_rows = _with_at_text(
        movements.filter(chain_seq__isnull=False).order_by("organization_id", "chain_seq", "id")
        .values("id", "chain_seq", "chain_hash", *device_fields, at_text=AT_TEXT)
        .iterator(chunk_size=5000))
    kit_fields = [name for name in KIT_MOVEMENT_FIELDS if name != "at"]
    kit_rows = _with_at_text(
        kit_movements.filter(chain_seq__isnull=False).order_by("organization_id", "chain_seq", "id")
        .values("id", "chain_seq", "chain_hash", *kit_fields, at_text=AT_TEXT)
        .iterator(chunk_size=5000), kit=True)
    return heapq.merge(device_rows, kit_rows,
                       key=lambda row: (row["organization_id"], row["chain_seq"]))


def rotate_key(*, organization_id: int, old_key: bytes, new_key: bytes):
    """Rotate one organisation's chain from ``old_key`` to ``new_key`` (one transaction, the head
    locked): refused unless the head is signed with ``old_key`` and the chain verifies with it.
    Returns the ``LedgerKeyRotation``, or None when the chain is already on ``new_key``."""
    from django.db import transaction

    from inventory.models import DeviceMovement, KitMovement, LedgerChainHead, LedgerKeyRotation

    old_id, new_id = key_id(old_key), key_id(new_key)
    with transaction.atomic():
        head = LedgerChainHead.objects.select_for_update().get(organization_id=organization_id)
        if head.key_id == new_id:
            return None
        if head.key_id and head.key_id != old_id:
            raise ValidationError(
                f"The chain is signed with key {head.key_id}, not with the old key you gave "
                f"({old_id}).")
        problems = list(chain_problems(organization_id=organization_id, key=old_key))
        if problems:
            raise ValidationError(
                f"The chain does not verify with the old key ({len(problems)} problem(s), first: "
                f"{problems[0].problem}); investigate with verify_ledger before rotating.")
        digest = hashlib.sha256()
        for row in _rows(DeviceMovement.objects.filter(organization_id=organization_id),
                         KitMovement.objects.filter(organization_id=organization_id)):
            _part_digest_add(digest, row, row["chain_seq"], head.kit_content_from)
        values = {"organization_id": organization_id, "after_seq": head.last_seq,
                      "old_key_id": head.key_id or old_id, "new_key_id": new_id,
                      "old_head_hash": head.last_hash, "vouched_digest": digest.hexdigest()}
        rotation = LedgerKeyRotation.objects.create(
            **values, rotation_hash=rotation_hash(new_key, **values))
        head.last_hash, head.key_id = rotation.rotation_hash, new_id
        head.save(update_fields=["last_hash", "key_id"])
    return rotation


def chain_problems(*, organization_id: int | None = None,
                   key: bytes | None = None) -> Iterator[ChainProblem]:
    """Walk each organisation's chain in sequence order and yield what does not hold.

    Reported: a chain signed with another key than ours (once, by key id, instead of a forgery
    per row), rows with no chain values (forged without the key, or never chained), rows whose
    hash does not match their content (altered or forged), gaps in the sequence (deleted rows),
    sequence numbers used twice, rows whose insertion order differs from the chain order
    (reordered), a chain that ends before the head says it does (deleted from the end), a key
    rotation record that does not verify, and movements before a rotation that no longer match
    the digest it vouches for.
    """
    from inventory.models import DeviceMovement, KitMovement, LedgerChainHead, LedgerKeyRotation

    key = key if key is not None else ledger_key()
    current_id = key_id(key)
    movements = DeviceMovement.objects.all()
    kit_movements = KitMovement.objects.all()
    heads = LedgerChainHead.objects.all()
    rotations = LedgerKeyRotation.objects.order_by("organization_id", "id")
    if organization_id is not None:
        movements = movements.filter(organization_id=organization_id)
        kit_movements = kit_movements.filter(organization_id=organization_id)
        heads = heads.filter(organization_id=organization_id)
        rotations = rotations.filter(organization_id=organization_id)
    head_by_org = {head.organization_id: head for head in heads}
    # The latest rotation of each organisation vouches for everything before it.
    rotation_by_org = {rotation.organization_id: rotation for rotation in rotations}

    mismatched = set()
    for org_id, head in head_by_org.items():
        if head.key_id and head.key_id != current_id:
            mismatched.add(org_id)
            yield ChainProblem(
                org_id, None,
                f"key mismatch: the chain is signed with key {head.key_id}, the ledger key here "
                f"is {current_id} ({key_source()}). Its movements were not checked: run with the "
                "key that signed them, or rotate with manage.py rotate_ledger_key.")
    for org_id, rotation in rotation_by_org.items():
        if org_id in mismatched:
            continue
        expected = rotation_hash(
            key, organization_id=org_id, after_seq=rotation.after_seq,
            old_key_id=rotation.old_key_id, new_key_id=rotation.new_key_id,
            old_head_hash=rotation.old_head_hash, vouched_digest=rotation.vouched_digest)
        if not hmac.compare_digest(expected, rotation.rotation_hash):
            mismatched.add(org_id)  # nothing after it can be trusted either
            yield ChainProblem(
                org_id, None,
                f"altered or forged: the key rotation after #{rotation.after_seq} "
                f"({rotation.old_key_id} → {rotation.new_key_id}) does not verify with key "
                f"{current_id}")

    for movement_id, org_id in (
        movements.filter(chain_seq__isnull=True).order_by("id").values_list("id", "organization_id")
    ):
        yield ChainProblem(org_id, movement_id, "not chained: no sequence number or hash "
                           "(written outside the application, or forged)")
    for movement_id, org_id in (
        kit_movements.filter(chain_seq__isnull=True).order_by("id")
        .values_list("id", "organization_id")
    ):
        yield ChainProblem(org_id, movement_id, "not chained: no sequence number or hash "
                           "(written outside the application, or forged)", kit_movement=True)

    rows = _rows(movements, kit_movements)
    org = None
    expected_seq, previous, last_id = 1, GENESIS, {}
    rotation, digest, kit_from = None, None, 1

    def end_of_chain(org_id, last_seq):
        head = head_by_org.get(org_id)
        if head is not None and head.last_seq > last_seq:
            yield ChainProblem(
                org_id, None,
                f"deleted: the chain ends at #{last_seq} but its head says "
                f"#{head.last_seq} (the last {head.last_seq - last_seq} movement(s) are missing)",
            )
        elif last_seq > (head.last_seq if head is not None else 0):
            yield ChainProblem(
                org_id, None,
                f"forged: the chain runs to #{last_seq} but its head says "
                f"#{head.last_seq if head is not None else 0} (movements appended outside the "
                "application)",
            )

    def close_vouched_part(org_id):
        """At the first movement after the rotation (or the chain's end): the part before it
        must be what the rotation vouched for."""
        nonlocal digest
        if rotation is not None and digest is not None:
            if digest.hexdigest() != rotation.vouched_digest:
                yield ChainProblem(
                    org_id, None,
                    f"altered: the movements up to #{rotation.after_seq}, signed with key "
                    f"{rotation.old_key_id} before the key rotation, no longer match what the "
                    "rotation vouched for")
            digest = None

    for row in rows:
        if row["organization_id"] != org:
            if org is not None:
                yield from close_vouched_part(org)
                yield from end_of_chain(org, expected_seq - 1)
            org = row["organization_id"]
            expected_seq, previous, last_id = 1, GENESIS, {}
            rotation = rotation_by_org.get(org)
            digest = hashlib.sha256() if rotation is not None else None
            head = head_by_org.get(org)
            kit_from = head.kit_content_from if head is not None else 1
        seq = row["chain_seq"]
        table = row.get("row", "device")
        is_kit = table == KIT_ROW
        if seq < expected_seq:
            yield ChainProblem(org, row["id"], f"duplicate: sequence #{seq} is used twice",
                               is_kit)
            continue
        if seq > expected_seq:
            yield ChainProblem(
                org, row["id"],
                f"deleted: movement(s) #{expected_seq}–#{seq - 1} are missing before #{seq}",
                is_kit,
            )
            # Resume from this row's own claim so one gap is reported once.
            previous = None
        if row["id"] < last_id.get(table, 0):
            yield ChainProblem(
                org, row["id"],
                f"reordered: #{seq} was inserted before the movement chained ahead of it",
                is_kit,
            )
        if rotation is not None and seq <= rotation.after_seq:
            if digest is not None:
                _part_digest_add(digest, row, seq, kit_from)
            if seq == rotation.after_seq and row["chain_hash"] != rotation.old_head_hash:
                yield ChainProblem(org, row["id"], f"altered: #{seq} is not the movement the key "
                                                   "rotation after it names", is_kit)
        else:
            if rotation is not None and digest is not None:
                yield from close_vouched_part(org)
                previous = rotation.rotation_hash if seq == rotation.after_seq + 1 else previous
            if org not in mismatched and previous is not None:
                expected = hmac.new(
                    key, previous.encode() + b"\x1e" + row_content(row, seq, kit_from=kit_from),
                    hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, row["chain_hash"] or ""):
                    yield ChainProblem(
                        org, row["id"],
                        f"altered or forged: #{seq}'s hash does not match its content and the "
                        "movement before it", is_kit,
                    )
        previous = row["chain_hash"] or ""
        expected_seq = seq + 1
        last_id[table] = max(last_id.get(table, 0), row["id"])
    if org is not None:
        yield from close_vouched_part(org)
        yield from end_of_chain(org, expected_seq - 1)
    # Organisations whose head names movements but who have none left.
    seen = set(
        movements.filter(chain_seq__isnull=False).values_list("organization_id", flat=True)
        .distinct()
    ) | set(
        kit_movements.filter(chain_seq__isnull=False).values_list("organization_id", flat=True)
        .distinct()
    )
    for org_id, head in head_by_org.items():
        if org_id not in seen and head.last_seq > 0:
            yield from end_of_chain(org_id, 0)
