"""Report table columns, shared by the pages and their CSV exports (``core.exports``)."""

from __future__ import annotations

from core.exports import Column, key

STOCK_COLUMNS: list[Column] = [
    Column("Facility", key("facility")), Column("Catalogue number", key("reference")),
    Column("Description", key("description")), Column("Product line", key("product_line")),
    Column("Par level", key("par")), Column("On hand", key("on_hand")),
    Column("Shortfall", key("shortfall")),
]

EXPIRING_COLUMNS: list[Column] = [
    Column("Bucket", lambda d: d.bucket), Column("Facility", lambda d: d.facility.name),
    Column("Catalogue number", lambda d: d.product.reference),
    Column("Description", lambda d: d.product.description), Column("Serial", lambda d: d.serial),
    Column("Lot", lambda d: d.lot), Column("Expiration date", lambda d: d.expiration_date),
    Column("Stocking order", lambda d: d.sold_on.name if d.sold_on else ""),
]

MONTHLY_COLUMNS: list[Column] = [
    Column("Month", lambda r: r["month"].strftime("%Y-%m")),
    Column("Sold (units)", key("sold_units")),
    Column("Sold (value)", key("sold_value")), Column("Used (units)", key("used_units")),
    Column("Used (value)", key("used_value")),
]

WHERE_USED_COLUMNS: list[Column] = [
    Column("Date", lambda line: line.event.date), Column("Case", lambda line: line.event.name),
    Column("Facility", lambda line: line.event.facility.name),
    Column("Surgeon", lambda line: line.event.surgeon),
    Column("Covering rep", lambda line: str(line.event.representative)),
    Column("Catalogue number", lambda line: line.device.product.reference),
    Column("Serial", lambda line: line.device.serial), Column("Lot", lambda line: line.device.lot),
    Column("Stocking order", lambda line: line.sold_by.name if line.sold_by else ""),
    Column("Sold by", lambda line: str(line.sold_by.representative) if line.sold_by else ""),
]

COMMISSION_COLUMNS: list[Column] = [
    Column("Rep", key("rep")), Column("At sale", key("at_sale")), Column("At use", key("at_use")),
    Column("Clawed back", key("clawed_back")), Column("Total", key("total")),
    Column("Credits", key("credits")),
]

SALES_COLUMNS: list[Column] = [
    Column("Group", key("label")), Column("Units", key("units")),
    Column("Stocking orders", key("stocking")),
    Column("Cases", key("cases")), Column("Returns", key("returns")),
    Column("Net revenue", key("revenue")),
]

USAGE_COLUMNS: list[Column] = [
    Column("Group", key("label")), Column("Devices used", key("units")),
    Column("From facility stock", key("from_facility_stock")),
]

COVER_COLUMNS: list[Column] = [
    Column("Facility", key("facility")), Column("Catalogue number", key("reference")),
    Column("Description", key("description")), Column("On hand", key("on_hand")),
    Column("Par level", key("par")),
    Column("Used in 90 days", key("used")), Column("Days of cover", key("cover_days")),
]

