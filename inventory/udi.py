"""GS1 identifiers: GTIN check digits and UDI labels (GS1 DataMatrix / GS1-128).

A scanner types a label either raw, with GS (\\x1d) separators and an optional ``]d2``/``]C1``
symbology prefix, or in the bracketed human-readable form ``(01)…(17)…(10)…(21)…``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import biip
from biip.gs1_messages import GS1Message
from django.core.exceptions import ValidationError

GS = "\x1d"
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


@dataclass(frozen=True)
class Udi:
    gtin: str
    lot: str = ""
    serial: str = ""
    expiration_date: datetime.date | None = None

    @property
    def hri(self) -> str:
        return udi_hri(self.gtin, self.expiration_date, self.lot, self.serial)


def udi_hri(
    gtin: str, expiration_date: datetime.date | None, lot: str, serial: str | None
) -> str:
    parts = [f"(01){gtin}"]
    if expiration_date:
        parts.append(f"(17){expiration_date:%y%m%d}")
    if lot:
        parts.append(f"(10){lot}")
    if serial:
        parts.append(f"(21){serial}")
    return "".join(parts)


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


# What a rep reads when a scan is not a UDI (the parser's own wording means nothing to them).
UNREADABLE = (
    "That is not a UDI label. Scan the device's GS1 barcode (it starts with (01) and the GTIN), "
    "or type it as (01)…(17)…(10)…(21)…; to find a device by serial or lot, use the search box."
)


def parse_udi(text: str) -> Udi:
    """Parse a scanned label; raise ValidationError saying what is wrong with it."""
    text = (text or "").strip().replace("\\x1d", GS).replace("<GS>", GS)
    if not text:
        raise ValidationError("The label is empty: scan or type a UDI.", code="udi_empty")
    try:
        if text.startswith("("):
            message = GS1Message.parse_hri(text)
        else:
            result = biip.parse(text)
            if result.gs1_message is None:
                raise ValidationError(UNREADABLE, code="udi_unreadable")
            message = result.gs1_message
    except ValidationError:
        raise
    except Exception as exc:  # biip raises its own ParseError family
        raise ValidationError(UNREADABLE, code="udi_unreadable") from exc

    elements = message.element_strings
    gtin_el = elements.get(ai="01")
    if gtin_el is None:
        raise ValidationError("The label has no GTIN (01).", code="udi_no_gtin")
    if gtin_el.gtin_error:
        raise ValidationError(
            "The label's GTIN %(gtin)s has a wrong check digit.",
            code="gtin_check_digit",
            params={"gtin": gtin_el.value},
        )
    expiry_el = elements.get(ai="17")
    lot_el = elements.get(ai="10")
    serial_el = elements.get(ai="21")
    expiry = None
    if expiry_el is not None:
        expiry = expiry_el.date
        if expiry is None:
            raise ValidationError(
                "The label's expiry date %(value)s is not a date.",
                code="udi_bad_date",
                params={"value": expiry_el.value},
            )
    return Udi(
        gtin=gtin_el.value,
        lot=lot_el.value if lot_el else "",
        serial=serial_el.value if serial_el else "",
        expiration_date=expiry,
    )
