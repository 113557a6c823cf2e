"""The statement's columns, shared by its page and its CSV export."""

from __future__ import annotations

from core.exports import Column

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
