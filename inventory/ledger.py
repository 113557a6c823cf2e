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
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from operator import attrgetter

from django.conf import settings
from django.utils.crypto import salted_hmac

GENESIS = "0" * 64
CONTENT_FIELDS = (
    "organization_id", "device_id", "at", "actor_id", "kind", "from_status", "to_status",
    "from_custodian_id", "to_custodian_id", "from_facility_id", "facility_id", "event_id",
    "transfer_id", "adjustment_id", "note",
)


def ledger_key() -> bytes:
    if settings.LEDGER_KEY:
        return settings.LEDGER_KEY.encode()
    return salted_hmac(
        "fieldstock.inventory.ledger-chain", "ledger key", secret=settings.SECRET_KEY,
        algorithm="sha256",
    ).digest()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int):  # ids, statuses, kinds, notes: the common cells first
        return str(value)
    if hasattr(value, "astimezone"):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def _content(values: Sequence, seq: int) -> bytes:
    """The canonical bytes of one movement from its CONTENT_FIELDS values, in that order."""
    parts = [_text(value) for value in values]
    parts.append(str(seq))
    # Unit separators and the lengths make the encoding unambiguous whatever a note contains.
    return "\x1f".join([f"{len(part)}:{part}" for part in parts]).encode()


def movement_content(values: dict, seq: int) -> bytes:
    """The canonical bytes of one movement: its fields, then its sequence number."""
    return _content([values[name] for name in CONTENT_FIELDS], seq)


def movement_hash(key: bytes, previous_hash: str, values: dict, seq: int) -> str:
    return hmac.new(
        key, previous_hash.encode() + b"\x1e" + movement_content(values, seq), hashlib.sha256
    ).hexdigest()


_content_values = attrgetter(*CONTENT_FIELDS)


def chain_movements(movements: Sequence, *, head_seq: int, head_hash: str, key: bytes) -> tuple[
    int, str
]:
    """Give each (unsaved) movement its sequence number and hash after the head; return the new
    head (sequence number, hash). The same bytes as ``movement_hash``, read in one call per
    movement."""
    seq, previous = head_seq, head_hash
    for movement in movements:
        seq += 1
        content = _content(_content_values(movement), seq)
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


def chain_problems(*, organization_id: int | None = None) -> Iterator[ChainProblem]:
    """Walk each organisation's chain in sequence order and yield what does not hold.

    Reported: rows with no chain values (forged without the key, or never chained), rows whose
    hash does not match their content (altered or forged), gaps in the sequence (deleted rows),
    sequence numbers used twice, rows whose insertion order differs from the chain order
    (reordered), and a chain that ends before the head says it does (deleted from the end).
    """
    from inventory.models import DeviceMovement, LedgerChainHead

    key = ledger_key()
    movements = DeviceMovement.objects.all()
    heads = LedgerChainHead.objects.all()
    if organization_id is not None:
        movements = movements.filter(organization_id=organization_id)
        heads = heads.filter(organization_id=organization_id)
    head_by_org = {head.organization_id: head for head in heads}

    for movement_id, org_id in (
        movements.filter(chain_seq__isnull=True).order_by("id").values_list("id", "organization_id")
    ):
        yield ChainProblem(org_id, movement_id, "not chained: no sequence number or hash "
                           "(written outside the application, or forged)")

    rows = (
        movements.filter(chain_seq__isnull=False)
        .order_by("organization_id", "chain_seq", "id")
        .values("id", "chain_seq", "chain_hash", *CONTENT_FIELDS)
        .iterator(chunk_size=5000)
    )
    org = None
    expected_seq, previous, last_id = 1, GENESIS, 0

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

    for row in rows:
        if row["organization_id"] != org:
            if org is not None:
                yield from end_of_chain(org, expected_seq - 1)
            org = row["organization_id"]
            expected_seq, previous, last_id = 1, GENESIS, 0
        seq = row["chain_seq"]
        if seq < expected_seq:
            yield ChainProblem(org, row["id"], f"duplicate: sequence #{seq} is used twice")
            continue
        if seq > expected_seq:
            yield ChainProblem(
                org, row["id"],
                f"deleted: movement(s) #{expected_seq}–#{seq - 1} are missing before #{seq}",
            )
            # Resume from this row's own claim so one gap is reported once.
            previous = None
        if row["id"] < last_id:
            yield ChainProblem(
                org, row["id"],
                f"reordered: #{seq} was inserted before the movement chained ahead of it",
            )
        if previous is not None and not hmac.compare_digest(
            movement_hash(key, previous, row, seq), row["chain_hash"] or ""
        ):
            yield ChainProblem(
                org, row["id"],
                f"altered or forged: #{seq}'s hash does not match its content and the "
                "movement before it",
            )
        previous = row["chain_hash"] or ""
        expected_seq, last_id = seq + 1, max(last_id, row["id"])
    if org is not None:
        yield from end_of_chain(org, expected_seq - 1)
    # Organisations whose head names movements but who have none left.
    seen = set(
        movements.filter(chain_seq__isnull=False).values_list("organization_id", flat=True)
        .distinct()
    )
    for org_id, head in head_by_org.items():
        if org_id not in seen and head.last_seq > 0:
            yield from end_of_chain(org_id, 0)
