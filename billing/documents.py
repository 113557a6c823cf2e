"""Billing's documents: the gap-free numbers, the PDFs of sales orders, invoices and credit
memos (rendered once, stored with their SHA-256), and the stored bytes a download serves.

Issuing a document (``document_issue``) takes its number from the locked counter row; the PDF is
rendered after the issuing transaction commits, by the worker (``billing.tasks``). A stored
document is never rendered again: ``document_store_pdf`` refuses, and downloads serve the stored
bytes after checking their SHA-256. A download before the worker rendered it renders it on demand
(``document_pdf_bytes``). Storage that refuses the file (a full disk) stores nothing: the
render is retried by the worker (``billing.tasks``) and a download meanwhile says the document is
not ready yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from billing.models import CreditMemo, DocumentCounter, Invoice, PurchaseOrder, SalesOrder
from billing.selectors import invoice_of
from core.db import service_transaction
from core.pdf import render_pdf
from events.models import Event, EventLine

# WeasyPrint logs each rendering step at INFO; keep its warnings (e.g. a refused URL) only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


# --- numbering ---------------------------------------------------------------------------------


def document_number_next(*, organization_id: int, doc_type: str) -> str:
    """The next number of a document type in an organisation: gap-free under concurrency.

    The counter row is locked until the surrounding transaction ends, so numbers are issued in
    commit order and a rolled-back transaction gives its number back.
    """
    DocumentCounter.objects.bulk_create(
        [DocumentCounter(organization_id=organization_id, doc_type=doc_type)],
        ignore_conflicts=True,
    )
    counter = DocumentCounter.objects.select_for_update(no_key=True).get(
        organization_id=organization_id, doc_type=doc_type
    )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{doc_type}-{counter.last_number:06d}"


def document_issue(model, *, event: Event, doc_type: str, lines: list[EventLine], at):
    """The event's numbered document (gap-free number), totalling its lines' prices."""
    return model.objects.create(
        organization_id=event.organization_id,
        event=event,
        number=document_number_next(organization_id=event.organization_id, doc_type=doc_type),
        issued_at=at,
        total=sum((line.price for line in lines), Decimal("0.00")),
    )


# --- rendering -----------------------------------------------------------------------------------


def _lines(event: Event) -> list[EventLine]:
    return list(
        event.lines.select_related(
            "device__product__product_line", "sold_by__sales_order", "contract"
        ).order_by("id")
    )


def _udi_parts(hri: str) -> list[str]:
    """Split "(01)…(17)…(10)…" at its application identifiers, so the PDF may wrap there."""
    return ["(" + part for part in hri.split("(") if part]


def document_context(document: SalesOrder | Invoice | CreditMemo) -> dict:
    event = (
        Event.objects.select_related(
            "organization", "facility", "facility_contact", "representative", "manufacturer",
            "product_line",
        )
        .get(pk=document.event_id)
    )
    if isinstance(document, CreditMemo):
        return credit_memo_context(document, event)
    context = {
        "document": document,
        "doc_title": "Invoice" if isinstance(document, Invoice) else "Sales Order",
        "event": event,
        "organization": event.organization,
        "currency": event.organization.currency,
        "facility": event.facility,
        "rows": [
            {"line": line, "udi_parts": _udi_parts(line.device.build_udi())}
            for line in _lines(event)
        ],
        "no_charge": not event.is_billable,
        "sales_order": SalesOrder.objects.filter(event=event).first(),
    }
    if isinstance(document, Invoice):
        context["purchase_order"] = PurchaseOrder.objects.filter(event=event).first()
    return context


def credit_memo_context(document: CreditMemo, event: Event) -> dict:
    """Each returned device with the stocking order, sales order and invoice it is credited on."""
    lines = list(
        event.lines.select_related(
            "device__product__product_line", "sold_by__sales_order", "sold_by__invoice",
        ).order_by("id")
    )
    rows = []
    for line in lines:
        sold_by = line.sold_by
        rows.append({
            "line": line,
            "udi_parts": _udi_parts(line.device.build_udi()),
            "stocking_order": sold_by,
            "sales_order": getattr(sold_by, "sales_order", None) if sold_by else None,
            "invoice": invoice_of(sold_by),
        })
    return {
        "document": document,
        "doc_title": "Credit Memo",
        "event": event,
        "organization": event.organization,
        "currency": event.organization.currency,
        "facility": event.facility,
        "rows": rows,
        "no_charge": False,
        "destroyed": [row for row in rows if row["line"].damaged
                      or row["line"].device.status == "removed"],
    }


DOCUMENT_TEMPLATES = {
    SalesOrder: "billing/pdf/sales_order.html",
    Invoice: "billing/pdf/invoice.html",
    CreditMemo: "billing/pdf/credit_memo.html",
}


def document_render(document: SalesOrder | Invoice | CreditMemo, *, url_fetcher=None) -> bytes:
    """The PDF bytes of a document (not stored; see ``document_store_pdf``)."""
    return render_pdf(
        DOCUMENT_TEMPLATES[type(document)], document_context(document), url_fetcher=url_fetcher
    )


@service_transaction
def document_store_pdf(*, document: SalesOrder | Invoice, url_fetcher=None) -> SalesOrder | Invoice:
    """Render an issued document once and store it with its SHA-256. A second call refuses.

    The document row is locked, so two racing first downloads render it only once.
    """
    model = type(document)
    document = model.objects.select_for_update(no_key=True).get(pk=document.pk)
    if document.sha256 or document.pdf:
        raise ValidationError(
            f"{document.number} was already rendered and stored; an issued document is never "
            "rendered again."
        )
    data = document_render(document, url_fetcher=url_fetcher)
    storage, filename = document.pdf.storage, f"{document.number}.pdf"
    name = document.pdf.field.generate_filename(document, filename)
    # The name is the document's own (organisation, kind, number) and only the holder of its row
    # lock writes it: a file there now is what an earlier attempt left half-written (the disk
    # filled up, the worker was killed), replaced rather than kept beside the real one.
    if storage.exists(name):
        storage.delete(name)
    document.sha256 = hashlib.sha256(data).hexdigest()
    try:
        document.pdf.save(filename, ContentFile(data), save=False)
    except OSError:  # disk full, storage unwritable: nothing stored, no partial file left
        with contextlib.suppress(OSError):
            if storage.exists(name):
                storage.delete(name)
        raise
    document.save(update_fields=["pdf", "sha256"])
    return document


class DocumentIntegrityError(Exception):
    """A stored PDF no longer matches the SHA-256 recorded when it was issued."""


def document_pdf_bytes(*, document: SalesOrder | Invoice | PurchaseOrder) -> bytes:
    """The stored bytes of a document, checked against its hash.

    A sales order or invoice whose after-commit render failed is rendered now (once).
    """
    if not document.pdf and not isinstance(document, PurchaseOrder):
        try:
            document = document_store_pdf(document=document)
        except ValidationError:  # someone else stored it meanwhile
            document = type(document).objects.get(pk=document.pk)
    if not document.pdf:
        raise ValidationError("No PDF is stored for this document.")
    with document.pdf.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise DocumentIntegrityError(f"The stored PDF of {document} fails its SHA-256 check.")
    return data
