"""GS1 identifiers: GTIN check digits and GS1 UDI strings (raw and bracketed).

Reading a scanned label (GS1, GS1 Digital Link, HIBC) is ``inventory.labels.parse_label``.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError

from inventory.labels import GS, gs1_hri
from inventory.labels import UNREADABLE as UNREADABLE  # older names, kept for code written
from inventory.labels import Label as Udi  # noqa: F401  (before inventory.labels: they now
from inventory.labels import parse_label as parse_udi  # noqa: F401  read every agency's label)

_GTIN_RE = re.compile(r"^\d{14}$")


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit for the first 13 digits of a GTIN-14."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(value: str) -> None:
    if not _GTIN_RE.match(value or ""):
        raise ValidationError(
            "GTIN %(value)s must be exactly 14 digits.", code="gtin_format", params={"value": value}
        )
    expected = gtin_check_digit(value[:13])
    if int(value[13]) != expected:
        raise ValidationError(
            "GTIN %(value)s has a wrong check digit: the last digit should be %(expected)s.",
            code="gtin_check_digit",
            params={"value": value, "expected": expected},
        )


def make_gtin(body13: str) -> str:
    """Complete 13 digits with their check digit."""
    return body13 + str(gtin_check_digit(body13))


# The bracketed, human-readable form of a GS1 UDI.
udi_hri = gs1_hri


def udi_raw(gtin: str, expiration_date: datetime.date | None, lot: str, serial: str | None) -> str:
    """The label as a scanner types it: fixed-length AIs first, GS after variable ones."""
    raw = f"01{gtin}"
    if expiration_date:
        raw += f"17{expiration_date:%y%m%d}"
    variable = []
    if lot:
        variable.append(f"10{lot}")
    if serial:
        variable.append(f"21{serial}")
    return raw + GS.join(variable)
