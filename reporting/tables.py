"""Table columns shared by the pages and their CSV exports, and a safe CSV writer."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse

from accounts.exports import csv_safe

CENT = Decimal("0.01")


def csv_cell(value) -> str:
    """A cell a spreadsheet won't run: text starting with = + - @ (or tab/CR) gets a ' prefix.
    Numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        # Money keeps its cents even where the database dropped them (SQLite sums).
        return f"{value.quantize(CENT) if value.as_tuple().exponent > -2 else value:f}"
    if isinstance(value, int | float):
        return str(value)
    return csv_safe(value)


Column = tuple[str, Callable]


def csv_response(filename: str, columns: Sequence[Column], rows: Iterable) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(title) for title, _ in columns])
    for row in rows:
        writer.writerow([csv_cell(get(row)) for _, get in columns])
    return response


def key(name: str) -> Callable:
    return lambda row: row[name]


STOCK_COLUMNS: list[Column] = [
    ("Facility", key("facility")), ("Catalogue number", key("reference")),
    ("Description", key("description")), ("Product line", key("product_line")),
    ("Par level", key("par")), ("On hand", key("on_hand")), ("Shortfall", key("shortfall")),
]

EXPIRING_COLUMNS: list[Column] = [
    ("Bucket", lambda d: d.bucket), ("Facility", lambda d: d.facility.name),
    ("Catalogue number", lambda d: d.product.reference),
    ("Description", lambda d: d.product.description), ("Serial", lambda d: d.serial),
    ("Lot", lambda d: d.lot), ("Expiration date", lambda d: d.expiration_date),
    ("Stocking order", lambda d: d.sold_on.name if d.sold_on else ""),
]

MONTHLY_COLUMNS: list[Column] = [
    ("Month", lambda r: r["month"].strftime("%Y-%m")), ("Sold (units)", key("sold_units")),
    ("Sold (value)", key("sold_value")), ("Used (units)", key("used_units")),
    ("Used (value)", key("used_value")),
]

WHERE_USED_COLUMNS: list[Column] = [
    ("Date", lambda line: line.event.date), ("Case", lambda line: line.event.name),
    ("Facility", lambda line: line.event.facility.name),
    ("Surgeon", lambda line: line.event.surgeon),
    ("Covering rep", lambda line: str(line.event.representative)),
    ("Catalogue number", lambda line: line.device.product.reference),
    ("Serial", lambda line: line.device.serial), ("Lot", lambda line: line.device.lot),
    ("Stocking order", lambda line: line.sold_by.name if line.sold_by else ""),
    ("Sold by", lambda line: str(line.sold_by.representative) if line.sold_by else ""),
]

COMMISSION_COLUMNS: list[Column] = [
    ("Rep", key("rep")), ("At sale", key("at_sale")), ("At use", key("at_use")),
    ("Clawed back", key("clawed_back")), ("Total", key("total")), ("Credits", key("credits")),
]

SALES_COLUMNS: list[Column] = [
    ("Group", key("label")), ("Units", key("units")), ("Stocking orders", key("stocking")),
    ("Cases", key("cases")), ("Returns", key("returns")), ("Net revenue", key("revenue")),
]

USAGE_COLUMNS: list[Column] = [
    ("Group", key("label")), ("Devices used", key("units")),
    ("From facility stock", key("from_facility_stock")),
]

COVER_COLUMNS: list[Column] = [
    ("Facility", key("facility")), ("Catalogue number", key("reference")),
    ("Description", key("description")), ("On hand", key("on_hand")), ("Par level", key("par")),
    ("Used in 90 days", key("used")), ("Days of cover", key("cover_days")),
]

STATEMENT_COLUMNS: list[Column] = [
    ("Credited", lambda c: c.created_at.date()), ("Event date", lambda c: c.event.date),
    ("Event", lambda c: c.event.name),
    ("Event type", lambda c: c.event.get_event_type_display()),
    ("Device", lambda c: c.device.label),
    ("Catalogue number", lambda c: c.device.product.reference),
    ("Kind", lambda c: c.get_kind_display()), ("Base price", lambda c: c.base_price),
    ("Rate", lambda c: c.rate), ("Stocking share", lambda c: c.stocking_share),
    ("Amount", lambda c: c.amount), ("Paid", lambda c: c.paid_at.date() if c.paid_at else ""),
]
