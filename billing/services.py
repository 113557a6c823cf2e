"""Billing: purchase orders, invoices and payment, the pipeline after Submit For Billing.

Submit For Billing is ``billing.submit``; the numbers and PDFs are ``billing.documents`` (an
issued invoice's PDF is rendered after commit by the worker, ``billing.tasks``).

Every function is keyword-only; rule violations raise ``ValidationError`` with a message for a
person, role violations ``PermissionDenied``.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from billing.documents import document_number_next
from billing.models import DocumentCounter, Invoice, PurchaseOrder, PurchaseOrderLine, SalesOrder
from billing.po_lines import StatedLine, lines_from_pdf_text
from billing.po_lines import pdf_text as po_pdf_text
from billing.reconcile import po_reconcile
from billing.tasks import document_store_after_commit
from core.db import service_transaction
from core.outbox import OutboxKind, emit
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


def _po_total(total) -> Decimal | None:
    if total in (None, ""):
        return None
    try:
        total = Decimal(str(total))
    except InvalidOperation:
        raise ValidationError({"total": "Enter the PO's total as a number."}) from None
    if not total.is_finite() or total < 0 or total >= Decimal("1e12"):
        raise ValidationError({"total": "Enter the PO's total: an amount of 0 or more."})
    if total != total.quantize(Decimal("0.01")):
        raise ValidationError({"total": "Enter the PO's total with at most 2 decimals."})
    return total


def _po_lines_write(actor: User, purchase_order: PurchaseOrder,
                    lines: Sequence[StatedLine]) -> None:
    ensure_same_organization(actor, *(line.product for line in lines))
    PurchaseOrderLine.objects.filter(purchase_order=purchase_order).delete()
    PurchaseOrderLine.objects.bulk_create([
        PurchaseOrderLine(organization_id=purchase_order.organization_id,
                          purchase_order=purchase_order, product=line.product,
                          quantity=line.quantity, price=line.price)
        for line in lines
    ])


@service_transaction
def purchase_order_record(
    *, actor: User, event: Event, number: str, pdf_file: UploadedFile | None = None,
    total: Decimal | None = None, lines: Sequence[StatedLine] | None = None,
) -> PurchaseOrder:
    """Record the facility's PO number (and optionally its PDF): Pending PO → Ready to invoice.

    What the PO states is kept to be compared with the sales order (``billing.reconcile``): its
    ``total`` and its ``lines`` (typed); without typed lines, the lines (and, without a total,
    the total) read from the PDF's text where it can (``billing.po_lines``)."""
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
    total = _po_total(total)
    lines_source = PurchaseOrder.LinesSource.TYPED if lines else PurchaseOrder.LinesSource.NONE
    data = pdf_file.read() if pdf_file is not None else b""
    if data and not lines:
        reading = lines_from_pdf_text(organization_id=event.organization_id,
                                      text=po_pdf_text(data))
        if reading.lines:
            lines, lines_source = reading.lines, PurchaseOrder.LinesSource.PDF
        if total is None:
            total = reading.total
    purchase_order = PurchaseOrder(
        organization_id=event.organization_id, event=event, number=number, recorded_by=actor,
        recorded_at=timezone.now(), total=total, lines_source=lines_source,
    )
    if pdf_file is not None:
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
    if lines:
        _po_lines_write(actor, purchase_order, lines)
    set_status(event, EventStatus.READY_TO_INVOICE)
    event.save(update_fields=["status"])
    emit(kind=OutboxKind.PURCHASE_ORDER_RECORDED, organization_id=event.organization_id,
         payload={"id": purchase_order.pk})
    return purchase_order


@service_transaction
def purchase_order_correct(
    *, actor: User, event: Event, total: Decimal | None, lines: Sequence[StatedLine],
) -> PurchaseOrder:
    """Correct what a recorded PO states (its total and lines) before the invoice: the facility
    sent a corrected PO, or the lines were read or typed wrong."""
    event = _locked_event(actor, event, "record_po")
    _ensure_billable(event, "a purchase order")
    if event.status != EventStatus.READY_TO_INVOICE:
        raise ValidationError(
            f"{event} is {event.get_status_display()}: its PO can be corrected only before the "
            "invoice is issued.", code="not_ready",
        )
    purchase_order = PurchaseOrder.objects.select_for_update(of=("self",), no_key=True).get(
        event=event)
    purchase_order.total = _po_total(total)
    purchase_order.lines_source = (
        PurchaseOrder.LinesSource.TYPED if lines else PurchaseOrder.LinesSource.NONE
    )
    purchase_order.corrected_by, purchase_order.corrected_at = actor, timezone.now()
    purchase_order.save(update_fields=["total", "lines_source", "corrected_by", "corrected_at"])
    _po_lines_write(actor, purchase_order, lines or [])
    return purchase_order


@service_transaction
def invoice_issue(
    *, actor: User, event: Event, today: datetime.date | None = None,
    mismatch_reason: str = "",
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
    purchase_order = PurchaseOrder.objects.filter(event=event).first()
    mismatch_reason = " ".join((mismatch_reason or "").split())
    differences = ""
    if purchase_order is not None:
        check = po_reconcile(event=event, purchase_order=purchase_order,
                             currency=event.organization.currency,
                             order_total=sales_order.total)
        if check.mismatched:
            if not mismatch_reason:
                raise ValidationError(
                    [f"Purchase order {purchase_order.number} does not match the sales order:",
                     *check.summary().splitlines(),
                     "Correct the PO, or tick “Invoice anyway” and give the reason."],
                    code="po_mismatch",
                )
            if len(mismatch_reason) > Invoice._meta.get_field("mismatch_reason").max_length:
                raise ValidationError("Keep the reason under 300 characters.", code="too_long")
            differences = check.summary()
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
        mismatch_reason=mismatch_reason if differences else "",
        mismatch_differences=differences,
    )
    event.save(update_fields=["status"])
    document_store_after_commit(invoice)
    emit(kind=OutboxKind.INVOICE_ISSUED, organization_id=event.organization_id,
         payload={"id": invoice.pk})
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
