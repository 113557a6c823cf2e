"""The statement's columns, shared by its page and its CSV export."""

from __future__ import annotations

from core.exports import Column

STATEMENT_COLUMNS: list[Column] = [
    Column("Credited", lambda c: c.created_at.date()), Column("Event date", lambda c: c.event.date),
    Column("Event", lambda c: c.event.name),
    Column("Event type", lambda c: c.event.get_event_type_display()),
    Column("Device", lambda c: c.device.label),
    Column("Catalogue number", lambda c: c.device.product.reference),
    Column("Kind", lambda c: c.get_kind_display()), Column("Base price", lambda c: c.base_price),
    Column("Rate", lambda c: c.rate), Column("Stocking share", lambda c: c.stocking_share),
    Column("Amount", lambda c: c.amount),
    Column("Paid", lambda c: c.paid_at.date() if c.paid_at else ""),
]
