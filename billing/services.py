"""Billing: purchase orders, invoices and payment, the pipeline after Submit For Billing.

Submit For Billing is ``billing.submit``; the numbers and PDFs are ``billing.documents`` (an
issued invoice's PDF is rendered after commit by the worker, ``billing.tasks``).

Every function is keyword-only; rule violations raise ``ValidationError`` with a message for a
person, role violations ``PermissionDenied``.
"""

from __future__ import annotations

import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from billing.documents import document_number_next
from billing.models import DocumentCounter, Invoice, PurchaseOrder, SalesOrder
from billing.tasks import document_store_after_commit
from core.db import service_transaction
from core.permissions import ensure_same_organization
from events.models import Event, EventStatus
from events.services import lock_event, set_status

# Uploaded purchase orders: PDF only, at most this many bytes (settings.PO_UPLOAD_MAX_BYTES).
PO_UPLOAD_MAX_BYTES_DEFAULT = 5 * 1024 * 1024
PDF_CONTENT_TYPES = {"application/pdf", "application/x-pdf"}


def po_upload_max_bytes() -> int:
    return int(getattr(settings, "PO_UPLOAD_MAX_BYTES", PO_UPLOAD_MAX_BYTES_DEFAULT))


# --- purchase order, invoice, payment -------------------------------------------------------------


def _locked_event(actor: User, event: Event, permission: str) -> Event:
    ensure_permission(actor, permission)
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
    billing.po_checks), at most ``po_upload_max_bytes()``."""
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
    from billing.po_checks import po_pdf_problem

    problem = po_pdf_problem(upload.read())
    upload.seek(0)
    if problem:
        raise ValidationError(f"This PO file is refused: {problem}.", code="unsafe_pdf")


@service_transaction
def purchase_order_record(
    *, actor: User, event: Event, number: str, pdf_file: UploadedFile | None = None,
) -> PurchaseOrder:
    """Record the facility's PO number (and optionally its PDF): Pending PO → Ready to invoice."""
    event = _locked_event(actor, event, "record_po")
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
    event = _locked_event(actor, event, "issue_invoice")
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
    document_store_after_commit(invoice)
    return invoice


@service_transaction
def event_mark_paid(*, actor: User, event: Event) -> Event:
    """The facility paid the invoice: Invoiced → Paid."""
    event = _locked_event(actor, event, "mark_paid")
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
