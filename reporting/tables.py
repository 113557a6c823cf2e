"""Report table columns, shared by the pages and their CSV exports (``core.exports``)."""

from __future__ import annotations

from core.exports import Column, key

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

