"""Every device label a rep scans, read by one parser.

Three issuing agencies label devices for the FDA's UDI rule; what each scan box accepts:

* **GS1** element strings in every form a scanner types them: raw with GS (``\\x1d``) or
  ``<GS>``/``\\x1d`` separators, with or without an AIM symbology prefix (``]d2`` DataMatrix,
  ``]C1`` GS1-128, ``]Q3`` GS1 QR), or bracketed ``(01)…(17)…(10)…(21)…``.
* **GS1 Digital Link** URIs (``https://id.gs1.org/01/<GTIN>/10/<lot>/21/<serial>?17=<YYMMDD>``),
  read by ``biip``; the older short names (``/gtin/``, ``/lot/``, ``/ser/``, ``?exp=``) too.
* **HIBCC** (ANSI/HIBC Supplier Labeling Standard): the primary structure
  ``+LLLLP…PU C`` (labeler, catalogue number, unit of measure, mod-43 check), the secondary
  structure (``+`` data, link character, check) and the concatenated one
  (``+LLLLP…PU/secondary/…C``), with every date form of the standard — ``$$`` followed by
  ``0``/``1`` (MMYY), ``2`` (MMDDYY), ``3`` (YYMMDD), ``4`` (YYMMDDHH), ``5`` (YYJJJ),
  ``6`` (YYJJJHH), ``7`` (no date), the quantity forms ``$$8`` (2 digits) and ``$$9``
  (5 digits), the serial forms ``$+``/``$$+``, the plain ``$`` lot and ``YYJJJ`` date, and the
  supplemental data identifiers ``/S`` (serial), ``/14D`` (expiry), ``/16D`` (manufactured),
  ``/Q`` (quantity). Two 1D labels read as one (``+primary+secondary``) are checked against
  each other by the link character.
* **ICCBBA / ISBT 128** (tissue and blood labels) is recognised and refused by name.

A label the parser refuses gets a ``ValidationError`` whose message names the problem.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import biip
from biip.gs1_messages import GS1Message
from django.core.exceptions import ValidationError

GS = "\x1d"

UNREADABLE = (
    "That is not a UDI label. Scan the device's GS1 barcode (it starts with (01) and the GTIN), "
    "its GS1 Digital Link QR code (https://…/01/<GTIN>/…) or its HIBC barcode (it starts with + "
    "and the labeler code); to find a device by serial or lot, use the search box."
)
ISBT_REFUSED = (
    "ISBT 128 labels are not supported yet: this is an ICCBBA label (tissue or blood products). "
    "Find the device by its serial number instead."
)

# --- HIBC ---------------------------------------------------------------------------------

# The 43 characters of the HIBC set, in the order of their values for the mod-43 check.
HIBC_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
_HIBC_VALUE = {c: i for i, c in enumerate(HIBC_CHARS)}
_LIC_RE = re.compile(r"^[A-Z][A-Z0-9]{3}$")
_PCN_RE = re.compile(r"^[A-Z0-9]{1,18}$")


def hibc_check_character(data: str) -> str:
    """The mod-43 check character of ``data`` (the whole structure before it, ``+`` included)."""
    bad = sorted({c for c in data if c not in _HIBC_VALUE})
    if bad:
        raise ValidationError(
            "The HIBC label contains %(chars)s, which HIBC labels never carry.",
            code="hibc_character", params={"chars": ", ".join(repr(c) for c in bad)},
        )
    return HIBC_CHARS[sum(_HIBC_VALUE[c] for c in data) % 43]


def hibc_primary(labeler: str, product: str, unit: int) -> str:
    """The primary data structure without its check character: ``+`` labeler, catalogue, unit."""
    return f"+{labeler}{product}{unit}"


@dataclass(frozen=True)
class Label:
    """What a scanned label says. ``agency`` is "GS1" or "HIBC"; a GS1 label names its product
    by ``gtin``, a HIBC label by labeler code + catalogue number + unit of measure."""

    agency: str
    gtin: str = ""
    hibc_labeler: str = ""
    hibc_product: str = ""
    hibc_unit: int | None = None
    lot: str = ""
    serial: str = ""
    expiration_date: datetime.date | None = None
    quantity: int | None = None

    @property
    def is_hibc(self) -> bool:
        return self.agency == "HIBC"

    @property
    def product_code(self) -> str:
        """The product as a receiving file names it: the GTIN, or the HIBC primary data
        (``+`` labeler, catalogue number, unit of measure) without its check character."""
        if self.is_hibc:
            return hibc_primary(self.hibc_labeler, self.hibc_product, self.hibc_unit)
        return self.gtin

    @property
    def identifier(self) -> str:
        """How messages name the product: "GTIN 0…" or "HIBC +H703…"."""
        return f"HIBC {self.product_code}" if self.is_hibc else f"GTIN {self.gtin}"

    @property
    def hri(self) -> str:
        """The label in a printable form that reads back to the same label."""
        if self.is_hibc:
            return hibc_text(self.hibc_labeler, self.hibc_product, self.hibc_unit,
                             self.expiration_date, self.lot, self.serial)
        return gs1_hri(self.gtin, self.expiration_date, self.lot, self.serial)


def gs1_hri(gtin: str, expiration_date: datetime.date | None, lot: str,
            serial: str | None) -> str:
    parts = [f"(01){gtin}"]
    if expiration_date:
        parts.append(f"(17){expiration_date:%y%m%d}")
    if lot:
        parts.append(f"(10){lot}")
    if serial:
        parts.append(f"(21){serial}")
    return "".join(parts)


def hibc_text(labeler: str, product: str, unit: int | None, expiration_date, lot: str,
              serial: str | None) -> str:
    """A concatenated HIBC label (primary/secondary[/S serial] and its check character):
    ``$$3`` YYMMDD expiry with the lot, or ``$$7`` lot without a date."""
    text = hibc_primary(labeler, product, unit if unit is not None else 0)
    if expiration_date or lot or serial:
        date = f"3{expiration_date:%y%m%d}" if expiration_date else "7"
        text += f"/$${date}{lot or ''}"
        if serial:
            text += f"/S{serial}"
    return text + hibc_check_character(text)


def _refuse(message: str, error_code: str, **params) -> ValidationError:
    return ValidationError(message, code=error_code, params=params or None)


def _two_digit_year(yy: str) -> int:
    return 2000 + int(yy)


def _hibc_date(kind: str, digits: str) -> datetime.date:
    try:
        if kind == "MMYY":
            year, month = _two_digit_year(digits[2:4]), int(digits[0:2])
            # A month-only expiry runs to the end of that month.
            return datetime.date(year, month, calendar.monthrange(year, month)[1])
        if kind == "MMDDYY":
            return datetime.date(_two_digit_year(digits[4:6]), int(digits[0:2]), int(digits[2:4]))
        if kind in ("YYMMDD", "YYMMDDHH"):
            return datetime.date(_two_digit_year(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
        if kind in ("YYJJJ", "YYJJJHH"):
            day = int(digits[2:5])
            if not 1 <= day <= 366:
                raise ValueError
            return datetime.date(_two_digit_year(digits[0:2]), 1, 1) + datetime.timedelta(day - 1)
        if kind == "YYYYMMDD":
            return datetime.date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        pass
    raise _refuse("The HIBC label's expiry date %(digits)s is not a date (%(kind)s).",
                  "hibc_bad_date", digits=digits, kind=kind)


# The $$ date flags of the HIBC standard: flag -> (form, digits).
_DATE_FLAGS = {"2": ("MMDDYY", 6), "3": ("YYMMDD", 6), "4": ("YYMMDDHH", 8),
               "5": ("YYJJJ", 5), "6": ("YYJJJHH", 7), "7": (None, 0)}


def _flagged_date(body: str) -> tuple[datetime.date | None, str]:
    """Read a date field that follows ``$$`` (or ``$$+``/the quantity): the flag, the date and
    what follows it. ``0``/``1`` first means MMYY without a flag."""
    if not body:
        return None, ""
    flag = body[0]
    if flag in "01":
        digits = body[:4]
        if len(digits) < 4 or not digits.isdigit():
            raise _refuse("The HIBC label's expiry date %(digits)s is not a date (MMYY).",
                          "hibc_bad_date", digits=digits)
        return _hibc_date("MMYY", digits), body[4:]
    if flag in _DATE_FLAGS:
        kind, length = _DATE_FLAGS[flag]
        if kind is None:
            return None, body[1:]
        digits = body[1:1 + length]
        if len(digits) < length or not digits.isdigit():
            raise _refuse("The HIBC label's expiry date %(digits)s is not a date (%(kind)s).",
                          "hibc_bad_date", digits=digits, kind=kind)
        return _hibc_date(kind, digits), body[1 + length:]
    raise _refuse("The HIBC label's date flag $$%(flag)s is not one of the standard's "
                  "(0–9 or +).", "hibc_bad_flag", flag=flag)


def _hibc_secondary(segment: str, into: dict) -> None:
    """Read one secondary data segment (without link or check character) into ``into``."""
    if segment.startswith("$$+"):
        into["expiration_date"], into["serial"] = _flagged_date(segment[3:])
    elif segment.startswith("$$8") or segment.startswith("$$9"):
        width = 2 if segment[2] == "8" else 5
        quantity = segment[3:3 + width]
        if len(quantity) < width or not quantity.isdigit():
            raise _refuse("The HIBC label's quantity %(q)s is not a %(n)s-digit number.",
                          "hibc_bad_quantity", q=quantity, n=width)
        into["quantity"] = int(quantity)
        rest = segment[3 + width:]
        # After the quantity: a flagged date, an MMYY date, or the lot straight away.
        if rest[:1] in _DATE_FLAGS or (len(rest) >= 4 and rest[:4].isdigit()
                                       and rest[0] in "01" and 1 <= int(rest[:2]) <= 12):
            into["expiration_date"], into["lot"] = _flagged_date(rest)
        else:
            into["lot"] = rest
    elif segment.startswith("$$"):
        into["expiration_date"], into["lot"] = _flagged_date(segment[2:])
    elif segment.startswith("$+"):
        into["serial"] = segment[2:]
    elif segment.startswith("$"):
        into["lot"] = segment[1:]
    elif segment[:5].isdigit() and len(segment) >= 5:
        into["expiration_date"] = _hibc_date("YYJJJ", segment[:5])
        into["lot"] = segment[5:]
    elif segment.startswith("S"):
        into["serial"] = segment[1:]
    elif segment.startswith("14D"):
        into["expiration_date"] = _hibc_date("YYYYMMDD", segment[3:])
    elif segment.startswith("16D"):
        _hibc_date("YYYYMMDD", segment[3:])  # the date of manufacture: checked, not kept
    elif segment.startswith("Q") and segment[1:].isdigit():
        into["quantity"] = int(segment[1:])
    else:
        raise _refuse("The HIBC label has a part %(part)s that the HIBC standard does not "
                      "define.", "hibc_unknown_part", part=segment)


def _hibc_primary_parts(primary: str) -> tuple[str, str, int]:
    """``LLLLP…PU`` (no ``+``, no check character) as labeler, catalogue number, unit."""
    labeler, product, unit = primary[:4], primary[4:-1], primary[-1:]
    if not _LIC_RE.match(labeler):
        raise _refuse("The HIBC label's labeler code %(lic)s is not a letter and three letters "
                      "or digits.", "hibc_bad_labeler", lic=labeler)
    if not _PCN_RE.match(product):
        raise _refuse("The HIBC label's catalogue number %(pcn)s is not 1–18 letters or digits.",
                      "hibc_bad_product", pcn=product)
    if not unit.isdigit():
        raise _refuse("The HIBC label's unit of measure %(unit)s is not a digit.",
                      "hibc_bad_unit", unit=unit)
    return labeler, product, int(unit)


def _verify_check(structure: str, what: str) -> None:
    expected = hibc_check_character(structure[:-1])
    if structure[-1] != expected:
        raise _refuse(
            "The %(what)s's check character is wrong: it reads %(found)r, the data before it "
            "gives %(expected)r. The label is misprinted or was misread; scan it again.",
            "hibc_check_character", what=what, found=structure[-1], expected=expected,
        )


def parse_hibc(text: str) -> Label:
    """Parse a HIBC label (it starts with ``+``); see the module's docstring."""
    if len(text) < 2 or text[0] != "+":
        raise _refuse(UNREADABLE, "udi_unreadable")
    hibc_check_character(text)  # refuses characters outside the HIBC set, by name
    if text[1] in "$0123456789":
        raise _refuse(
            "That is a HIBC secondary label (lot, expiry or serial only): scan the primary "
            "label beside it too (it starts with + and the labeler code).",
            "hibc_secondary_only",
        )
    # Two 1D labels read as one: "+primary C" followed by "+secondary L C".
    split = re.search(r"\+(?=[$\d])", text[1:])
    if split and "/" not in text[:split.start() + 1]:
        primary, secondary = text[:split.start() + 1], text[split.start() + 1:]
        _verify_check(primary, "HIBC primary label")
        _verify_check(secondary, "HIBC secondary label")
        if len(secondary) < 3:
            raise _refuse(UNREADABLE, "udi_unreadable")
        link = secondary[-2]
        if link != primary[-1]:
            raise _refuse(
                "The HIBC secondary label's link character %(link)r does not match the primary "
                "label's check character %(check)r: the two labels are not of one product.",
                "hibc_link_character", link=link, check=primary[-1],
            )
        labeler, product, unit = _hibc_primary_parts(primary[1:-1])
        data: dict = {}
        for segment in secondary[1:-2].split("/"):
            if segment:
                _hibc_secondary(segment, data)
        return Label("HIBC", hibc_labeler=labeler, hibc_product=product, hibc_unit=unit, **data)
    _verify_check(text, "HIBC label")
    body = text[1:-1]
    primary, *segments = body.split("/")
    labeler, product, unit = _hibc_primary_parts(primary)
    data = {}
    for segment in segments:
        if segment:
            _hibc_secondary(segment, data)
    return Label("HIBC", hibc_labeler=labeler, hibc_product=product, hibc_unit=unit, **data)


# --- GS1 ----------------------------------------------------------------------------------

# GS1 Digital Link 1.0's convenience names, replaced by the numeric keys in later versions.
_DL_SHORT_NAMES = {"gtin": "01", "lot": "10", "ser": "21", "exp": "17", "cpv": "22"}


def _numeric_digital_link(uri: str) -> str:
    parts = urlsplit(uri)
    path = "/".join(_DL_SHORT_NAMES.get(p, p) for p in parts.path.split("/"))
    query = urlencode([(_DL_SHORT_NAMES.get(k, k), v) for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))


def _gs1_message(text: str) -> GS1Message:
    try:
        if text.startswith("("):
            return GS1Message.parse_hri(text)
        if text.lower().startswith(("http://", "https://")):
            result = biip.parse(_numeric_digital_link(text))
            if result.gs1_digital_link_uri is None:
                raise ValidationError(
                    "That web address is not a GS1 Digital Link with a GTIN (…/01/<GTIN>/…).",
                    code="udi_not_digital_link",
                )
            return result.gs1_digital_link_uri.as_gs1_message()
        result = biip.parse(text)
        if result.gs1_message is None:
            raise ValidationError(UNREADABLE, code="udi_unreadable")
        return result.gs1_message
    except ValidationError:
        raise
    except Exception as exc:  # biip raises its own ParseError family
        raise ValidationError(UNREADABLE, code="udi_unreadable") from exc


def parse_gs1(text: str) -> Label:
    elements = _gs1_message(text).element_strings
    gtin_el = elements.get(ai="01")
    if gtin_el is None:
        raise ValidationError("The label has no GTIN (01).", code="udi_no_gtin")
    if gtin_el.gtin_error:
        raise ValidationError(
            "The label's GTIN %(gtin)s has a wrong check digit.",
            code="gtin_check_digit", params={"gtin": gtin_el.value},
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
                code="udi_bad_date", params={"value": expiry_el.value},
            )
    return Label(
        "GS1",
        gtin=gtin_el.value,
        lot=lot_el.value if lot_el else "",
        serial=serial_el.value if serial_el else "",
        expiration_date=expiry,
    )


# --- Any label ----------------------------------------------------------------------------

_SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9A-Za-z]")


def normalise(text: str) -> str:
    """The scan as typed, with the escapes people type for GS turned into GS."""
    return (text or "").strip().replace("\\x1d", GS).replace("<GS>", GS)


def _hibc_with_space_check(data: str, raw: str) -> Label:
    """A HIBC check character may be a space, which the end of a scan loses to trimming: when
    the trimmed label's check fails and the scan ended in a space, read it with that space."""
    try:
        return parse_hibc(data)
    except ValidationError as exc:
        if exc.code != "hibc_check_character" or not raw.endswith(" "):
            raise
        try:
            return parse_hibc(data + " ")
        except ValidationError:
            raise exc from None


def parse_label(text: str) -> Label:
    """Parse any scanned label; raise ValidationError naming what is wrong with it."""
    raw = (text or "").strip("\r\n\t")
    text = normalise(text)
    if not text:
        raise ValidationError("The label is empty: scan or type a UDI.", code="udi_empty")
    data = text[3:] if _SYMBOLOGY.match(text) else text
    if data.startswith("*") and data.endswith("*") and len(data) > 2:
        data = data[1:-1]  # a Code 39 reader that keeps the start/stop characters
    if data.startswith("+"):
        return _hibc_with_space_check(data, raw)
    if data[:1] in ("=", "&"):
        raise ValidationError(ISBT_REFUSED, code="isbt128")
    if data.lower().startswith(("http://", "https://")):
        return parse_gs1(data)
    return parse_gs1(text)


def looks_like_label(text: str) -> bool:
    """Whether a search box's text is meant as a label rather than a serial or a word."""
    text = normalise(text)
    return (
        text.startswith(("(01)", "]", "+", "=", "&"))
        or GS in text
        or text.lower().startswith(("http://", "https://"))
        or (text.startswith("01") and len(text) > 16 and text[2:16].isdigit())
    )


def parse_product_code(code: str) -> tuple[str, tuple]:
    """A product as a receiving file names it: a 14-digit GTIN, or a HIBC primary data structure
    without its check character (``+`` labeler code, catalogue number, unit of measure, e.g.
    ``+A123BJC5D6E71``). Returns ``("GS1", (gtin,))`` or ``("HIBC", (labeler, product, unit))``;
    raises ValidationError for anything else."""
    code = (code or "").strip()
    if code.startswith("+"):
        return "HIBC", _hibc_primary_parts(code[1:])
    if len(code) == 14 and code.isdigit():
        return "GS1", (code,)
    raise _refuse("%(code)s is neither a 14-digit GTIN nor a HIBC product code (+ labeler code, "
                  "catalogue number, unit of measure).", "product_code", code=code)


def describe_product_code(code: str) -> str:
    return f"HIBC product {code}" if code.startswith("+") else f"GTIN {code}"
