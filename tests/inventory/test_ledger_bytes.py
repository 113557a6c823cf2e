"""The ledger's chained bytes never change: rows hashed years ago must verify with today's code."""

import datetime

import pytest

from inventory.ledger import GENESIS, chain_movements, movement_content, movement_hash
from inventory.models import DeviceMovement, MovementKind

VALUES = {
    "organization_id": 3, "device_id": 41,
    "at": datetime.datetime(2026, 11, 29, 12, 0, 1, 234567,
                            tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    "actor_id": 7, "kind": MovementKind.SOLD_TO_FACILITY, "from_status": "available",
    "to_status": "facility_stock", "from_custodian_id": 9, "to_custodian_id": None,
    "from_facility_id": None, "facility_id": 5, "event_id": 11, "transfer_id": None,
    "adjustment_id": None, "note": "ünï\x1f:code",
}
KEY = b"k" * 32


def test_the_canonical_bytes_and_hash_of_a_movement_are_those_of_the_first_release():
    assert movement_content(VALUES, 12) == (
        b"1:3\x1f2:41\x1f27:2026-11-29T10:00:01.234567Z\x1f1:7\x1f16:sold_to_facility\x1f"
        b"9:available\x1f14:facility_stock\x1f1:9\x1f0:\x1f0:\x1f1:5\x1f2:11\x1f0:\x1f0:\x1f"
        b"9:\xc3\xbcn\xc3\xaf\x1f:code\x1f2:12"
    )
    assert movement_hash(KEY, GENESIS, VALUES, 12) == (
        "770ad2d23e4f641b4d99906d025b142d36091e6e3154779cec691f9c1229abff"
    )


def test_chaining_writes_the_hashes_verify_ledger_recomputes():
    movements = [DeviceMovement(**{**VALUES, "device_id": n}) for n in (41, 42, 43)]
    seq, last = chain_movements(movements, head_seq=11, head_hash=GENESIS, key=KEY)
    previous = GENESIS
    for n, movement in enumerate(movements, start=12):
        assert movement.chain_seq == n
        assert movement.chain_hash == movement_hash(
            KEY, previous, {**VALUES, "device_id": movement.device_id}, n)
        previous = movement.chain_hash
    assert (seq, last) == (14, previous)
    assert movements[0].chain_hash == movement_hash(KEY, GENESIS, VALUES, 12)


@pytest.mark.django_db
def test_verify_ledger_reads_each_time_as_the_text_the_chain_hashed():
    """verify_ledger has PostgreSQL write the times (``AT_TEXT``) instead of reading datetimes
    and formatting them: the same characters as ``_text`` for any microsecond, offset or year."""
    from django.db import connection

    from inventory.ledger import AT_TEXT, _text

    tz = datetime.timezone(datetime.timedelta(hours=-7, minutes=-30))
    moments = [
        datetime.datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=datetime.UTC),
        datetime.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 29, 12, 0, 1, 5, tzinfo=tz),  # the next day in UTC
        datetime.datetime(1999, 2, 28, 0, 0, 0, 120000, tzinfo=tz),
    ]
    sql = AT_TEXT.sql.replace("at AT", "%s::timestamptz AT")
    with connection.cursor() as cursor:
        for moment in moments:
            cursor.execute(f"SELECT {sql}", [moment])
            assert cursor.fetchone()[0] == _text(moment), moment
