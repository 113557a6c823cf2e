"""Billing: purchase orders, invoices, payment, and the numbered PDFs (rendered once, stored).

The sales order is created by ``events.services.event_submit_for_billing``; once that transaction
commits, a background task (``events.tasks``, run by the worker) renders and stores its PDF, so
neither the request nor the row locks wait for WeasyPrint. Until it is stored the event page says
"PDF being prepared"; a download before then renders it on demand (``document_pdf_bytes``).
A stored document is never rendered again: ``document_store_pdf`` refuses, and downloads serve
the stored bytes after checking their SHA-256.

Every function is keyword-only; rule violations raise ``ValidationError`` with a message for a
person, role violations ``PermissionDenied``.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from accounts.pdf import StaticOnlyURLFetcher, html_to_pdf
from core.db import service_transaction
from events.models import (
    UNSUBMITTED,
    CreditMemo,
    DocumentCounter,
    Event,
    EventLine,
    EventStatus,
    Invoice,
    PurchaseOrder,
    SalesOrder,
)
from events.services import document_number_next, lock_event, set_status
from inventory.services import ensure_role, ensure_same_organization

logger = logging.getLogger(__name__)
# WeasyPrint logs each rendering step at INFO; keep its warnings (e.g. a refused URL) only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Uploaded purchase orders: PDF only, at most this many bytes (settings.PO_UPLOAD_MAX_BYTES).
PO_UPLOAD_MAX_BYTES_DEFAULT = 5 * 1024 * 1024
PDF_CONTENT_TYPES = {"application/pdf", "application/x-pdf"}


def po_upload_max_bytes() -> int:
    return int(getattr(settings, "PO_UPLOAD_MAX_BYTES", PO_UPLOAD_MAX_BYTES_DEFAULT))


# --- rendering -----------------------------------------------------------------------------------

def render_pdf(template_name: str, context: dict, *, url_fetcher=None) -> bytes:
    """Render a template under ``templates/events/pdf/`` to PDF bytes (static files only)."""
    html = render_to_string(template_name, context)
    return html_to_pdf(html, url_fetcher=url_fetcher or StaticOnlyURLFetcher())


def _lines(event: Event) -> list[EventLine]:
    return list(
        event.lines.select_related(
            "device__product__product_line", "sold_by__sales_order"
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


def invoice_of(event: Event | None) -> Invoice | None:
    if event is None:
        return None
    try:
        return event.invoice
    except Invoice.DoesNotExist:
        return None


DOCUMENT_TEMPLATES = {
    SalesOrder: "events/pdf/sales_order.html",
    Invoice: "events/pdf/invoice.html",
    CreditMemo: "events/pdf/credit_memo.html",
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
    document.sha256 = hashlib.sha256(data).hexdigest()
    document.pdf.save(f"{document.number}.pdf", ContentFile(data), save=False)
    document.save(update_fields=["pdf", "sha256"])
    return document


def _store_after_commit(model, pk: int) -> None:
    """Once the issuing transaction commits, hand the render to the worker (a task).

    robust: when the task cannot be queued the error is logged; the first download renders it.
    """
    from events.tasks import document_render_and_store

    doc_type = {Invoice: "invoice", SalesOrder: "sales_order", CreditMemo: "credit_memo"}[model]
    transaction.on_commit(
        lambda: document_render_and_store.enqueue(doc_type, pk), robust=True
    )


def sales_order_schedule_pdf(sales_order: SalesOrder) -> None:
    """Called by ``event_submit_for_billing``: render the sales order once it is committed."""
    _store_after_commit(SalesOrder, sales_order.pk)


def credit_memo_schedule_pdf(credit_memo: CreditMemo) -> None:
    """Called when a Return is submitted: render the credit memo once it is committed."""
    _store_after_commit(CreditMemo, credit_memo.pk)


def invoice_credits(*, invoice: Invoice) -> Decimal:
    """What credit memos have credited against the stocking order this invoice bills."""
    return EventLine.objects.filter(
        sold_by_id=invoice.event_id, kind=EventLine.Kind.RETURN, committed=True
    ).aggregate(total=Sum("price"))["total"] or Decimal("0.00")


def invoice_balance(*, invoice: Invoice) -> Decimal:
    """The invoice total less the credits of returns of devices it billed."""
    return invoice.total - invoice_credits(invoice=invoice)


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


# --- purchase order, invoice, payment -------------------------------------------------------------


def _locked_event(actor: User, event: Event) -> Event:
    ensure_role(actor, User.Role.ADMIN, action="run billing")
    ensure_same_organization(actor, event)
    return lock_event(event, "facility")


def _ensure_billable(event: Event, what: str) -> None:
    if event.is_return:
        raise ValidationError(
            f"{event} is a return, credited by its credit memo: {what} does not apply.",
            code="not_billable",
        )
    if event.status == EventStatus.CANCELLED:
        raise ValidationError(f"{event} was cancelled: it has no billing.", code="cancelled")
    if not event.is_billable:
        raise ValidationError(
            f"{event} used facility stock already billed by its stocking order: "
            f"{what} does not apply (the event is closed).",
            code="not_billable",
        )
    if event.status == EventStatus.DRAFT:
        raise ValidationError(f"{event} has not been submitted for billing yet.", code="draft")


def validate_po_pdf(upload: UploadedFile) -> None:
    """PDF only (content type, the ``%PDF-`` magic, and a parse without active content: see
    events.po_checks), at most ``po_upload_max_bytes()``."""
    limit = po_upload_max_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"The PO file is {upload.size / 1048576:.1f} MB; the limit is "
            f"{limit / 1048576:.0f} MB.", code="too_large",
        )
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if content_type not in PDF_CONTENT_TYPES or head != b"%PDF-":
        raise ValidationError("The PO must be a PDF file.", code="not_pdf")
    from events.po_checks import po_pdf_problem

    problem = po_pdf_problem(upload.read())
    upload.seek(0)
    if problem:
        raise ValidationError(f"This PO file is refused: {problem}.", code="unsafe_pdf")


@service_transaction
def purchase_order_record(
    *, actor: User, event: Event, number: str, pdf_file: UploadedFile | None = None,
) -> PurchaseOrder:
    """Record the facility's PO number (and optionally its PDF): Pending PO → Ready to invoice."""
    event = _locked_event(actor, event)
    _ensure_billable(event, "a purchase order")
    if event.status != EventStatus.PENDING_PO:
        existing = PurchaseOrder.objects.filter(event=event).first()
        raise ValidationError(
            f"{event} already has purchase order {existing.number}." if existing
            else f"{event} is {event.get_status_display()}: no purchase order is expected.",
            code="not_pending",
        )
    number = (number or "").strip()
    if not number:
        raise ValidationError({"number": "Enter the facility's PO number."})
    if len(number) > PurchaseOrder._meta.get_field("number").max_length:
        raise ValidationError({"number": "That PO number is too long (100 characters at most)."})
    duplicate = (
        PurchaseOrder.objects.filter(organization_id=event.organization_id, number__iexact=number)
        .select_related("event").first()
    )
    if duplicate:
        raise ValidationError(
            {"number": f"PO number {number} is already recorded for {duplicate.event}."}
        )
    if pdf_file is not None:
        try:
            validate_po_pdf(pdf_file)
        except ValidationError as error:
            raise ValidationError({"pdf_file": error.messages}) from None
    purchase_order = PurchaseOrder(
        organization_id=event.organization_id, event=event, number=number, recorded_by=actor,
        recorded_at=timezone.now(),
    )
    if pdf_file is not None:
        data = pdf_file.read()
        purchase_order.sha256 = hashlib.sha256(data).hexdigest()
        purchase_order.pdf.save(f"PO-event-{event.pk}.pdf", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            purchase_order.save()
    except IntegrityError:
        if purchase_order.pdf:
            purchase_order.pdf.delete(save=False)
        raise ValidationError(
            {"number": f"PO number {number} is already recorded in your organisation."}
        ) from None
    set_status(event, EventStatus.READY_TO_INVOICE)
    event.save(update_fields=["status"])
    return purchase_order


@service_transaction
def invoice_issue(
    *, actor: User, event: Event, today: datetime.date | None = None,
) -> Invoice:
    """Issue the numbered invoice (INV-000001…) once the PO is recorded: → Invoiced.

    The number comes from the row-locked counter, so concurrent issues are gap-free; the PDF is
    rendered after commit.
    """
    today = today or timezone.localdate()
    event = _locked_event(actor, event)
    _ensure_billable(event, "an invoice")
    if event.status == EventStatus.PENDING_PO:
        raise ValidationError(
            f"Record the facility's purchase order for {event} before issuing the invoice.",
            code="no_po",
        )
    if event.status != EventStatus.READY_TO_INVOICE:
        existing = Invoice.objects.filter(event=event).first()
        raise ValidationError(
            f"{event} was already invoiced ({existing.number})." if existing
            else f"{event} is {event.get_status_display()} and can't be invoiced.",
            code="invoiced",
        )
    sales_order = SalesOrder.objects.get(event=event)
    set_status(event, EventStatus.INVOICED)
    invoice = Invoice.objects.create(
        organization_id=event.organization_id,
        event=event,
        number=document_number_next(
            organization_id=event.organization_id, doc_type=DocumentCounter.DocType.INVOICE
        ),
        issued_at=timezone.now(),
        issued_by=actor,
        due_date=today + datetime.timedelta(days=event.facility.payment_terms_days),
        total=sales_order.total,
    )
    event.save(update_fields=["status"])
    _store_after_commit(Invoice, invoice.pk)
    return invoice


@service_transaction
def event_mark_paid(*, actor: User, event: Event) -> Event:
    """The facility paid the invoice: Invoiced → Paid."""
    event = _locked_event(actor, event)
    _ensure_billable(event, "payment")
    if event.status != EventStatus.INVOICED:
        raise ValidationError(
            f"{event} is {event.get_status_display()}: only an invoiced event can be marked paid.",
            code="not_invoiced",
        )
    invoice = Invoice.objects.select_for_update(no_key=True).get(event=event)
    invoice.paid_at = timezone.now()
    invoice.paid_by = actor
    invoice.save(update_fields=["paid_at", "paid_by"])
    set_status(event, EventStatus.PAID)
    event.save(update_fields=["status"])
    return event



# --- selectors -----------------------------------------------------------------------------------


def billing_queue(
    *, user: User, status: str = "", facility=None, rep=None,
    date_from: datetime.date | None = None, date_to: datetime.date | None = None,
):
    """Submitted events the user may see, with their billing documents, newest first.

    Each carries ``credited`` (what returns of its devices credited) and ``invoice_balance``.
    """
    credited = (
        EventLine.objects.filter(
            sold_by=OuterRef("pk"), kind=EventLine.Kind.RETURN, committed=True
        ).order_by().values("sold_by").annotate(total=Sum("price")).values("total")
    )
    qs = (
        Event.objects.for_user(user)
        .exclude(status__in=UNSUBMITTED)
        .select_related(
            "facility", "representative", "sales_order", "purchase_order", "invoice",
            "credit_memo",
        )
        .annotate(credited=Coalesce(
            Subquery(credited), Value(Decimal("0.00")),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ))
        .annotate(invoice_balance=F("invoice__total") - F("credited"))
        .order_by("-date", "-id")
    )
    if status:
        qs = qs.filter(status=status)
    if facility is not None:
        qs = qs.filter(facility=facility)
    if rep is not None:
        qs = qs.filter(representative=rep)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    return qs


def billing_status_counts(*, user: User) -> dict[str, int]:
    """How many of the user's submitted events are in each billing status (one query)."""
    rows = (
        Event.objects.for_user(user).exclude(status__in=UNSUBMITTED)
        .order_by().values("status").annotate(n=Count("id"))
    )
    counts = {value: 0 for value in EventStatus.values if value not in UNSUBMITTED}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts
