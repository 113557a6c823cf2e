"""The accounting export: invoices, credit memos and payments as a dated double-entry journal.

Each document is two rows (debit, credit) of one entry: an invoice debits Accounts Receivable
and credits Sales; a credit memo debits Sales Returns and credits Accounts Receivable; a payment
debits Cash and credits Accounts Receivable with the invoice's balance when it was paid (its
total less the credit memos of returns submitted before). Three queries, whatever the period.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import CreditMemo, Invoice
from core.exports import Column, csv_download, key
from events.models import EventLine

RECEIVABLE, SALES, RETURNS, CASH = ("Accounts Receivable", "Sales", "Sales Returns", "Cash")
COLUMNS = [
    Column("Date", key("date")), Column("Entry", key("entry")), Column("Type", key("type")),
    Column("Document", key("document")), Column("Account", key("account")),
    Column("Debit", key("debit")), Column("Credit", key("credit")),
    Column("Facility", key("facility")), Column("Facility account", key("account_number")),
    Column("Event", key("event")),
]


def _window(model, field: str, user, date_from, date_to):
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=datetime.UTC)
    return model.objects.for_user(user).filter(**{f"{field}__gte": start, f"{field}__lt": end})


def journal_rows(*, user, date_from: datetime.date, date_to: datetime.date) -> list[dict]:
    entries = []  # (when, type, document, amount, debit account, credit account, event)
    related = ("event__facility",)
    for invoice in _window(Invoice, "issued_at", user, date_from, date_to).select_related(
            *related):
        entries.append((invoice.issued_at, "Invoice", invoice.number, invoice.total,
                        RECEIVABLE, SALES, invoice.event))
    for memo in _window(CreditMemo, "issued_at", user, date_from, date_to).select_related(
            *related):
        entries.append((memo.issued_at, "Credit memo", memo.number, memo.total, RETURNS,
                        RECEIVABLE, memo.event))
    credits_before_payment = EventLine.objects.filter(
        sold_by_id=OuterRef("event_id"), kind=EventLine.Kind.RETURN, committed=True,
        event__submitted_at__lte=OuterRef("paid_at"),
    ).order_by().values("sold_by_id").annotate(total=Sum("price")).values("total")
    paid = _window(Invoice, "paid_at", user, date_from, date_to).select_related(
        *related).annotate(credited=Coalesce(
            Subquery(credits_before_payment), Value(Decimal("0.00")),
            output_field=DecimalField(max_digits=14, decimal_places=2)))
    for invoice in paid:
        entries.append((invoice.paid_at, "Payment", invoice.number,
                        invoice.total - invoice.credited, CASH, RECEIVABLE, invoice.event))
    entries.sort(key=lambda entry: (entry[0], entry[1], entry[2]))
    rows = []
    for number, (when, kind, document, amount, debit, credit, event) in enumerate(entries, 1):
        common = {"date": when.date().isoformat(), "entry": number, "type": kind,
                  "document": document, "facility": event.facility.name,
                  "account_number": event.facility.account_number, "event": event.name}
        rows.append({**common, "account": debit, "debit": f"{amount:.2f}", "credit": ""})
        rows.append({**common, "account": credit, "debit": "", "credit": f"{amount:.2f}"})
    return rows


def journal_response(*, user, date_from: datetime.date, date_to: datetime.date):
    rows = journal_rows(user=user, date_from=date_from, date_to=date_to)
    return csv_download(f"journal-{date_from:%Y%m%d}-{date_to:%Y%m%d}.csv", COLUMNS, rows)
