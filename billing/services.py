"""Billing: Submit For Billing, purchase orders, invoices, payment, credit memos, and the numbered
PDFs (rendered once, stored).

Submit For Billing (``event_submit_for_billing``) is billing's use case: it checks the event's
rules (events), applies the device transitions (the inventory lifecycle), writes the commission
credits (commissions) and issues the numbered sales order or credit memo. Once that transaction
commits, a background task (``billing.tasks``, run by the worker) renders and stores its PDF, so
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
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from billing.models import CreditMemo, DocumentCounter, Invoice, PurchaseOrder, SalesOrder
from commissions.services import (
    commission_clawbacks,
    commission_credits_for_sale,
    commission_summary_add,
)
from core.db import bulk_insert, service_transaction
from core.pdf import render_pdf
from core.permissions import ensure_role, ensure_same_organization
from events.models import Event, EventLine, EventStatus
from events.services import (
    device_problem,
    ensure_can_edit,
    event_line_summary_add,
    lock_event,
    open_sale_lines,
    set_status,
)
from inventory.lifecycle import devices_transition
from inventory.models import DeviceStatus, MovementKind
from inventory.services import lock_devices

logger = logging.getLogger(__name__)
# WeasyPrint logs each rendering step at INFO; keep its warnings (e.g. a refused URL) only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Uploaded purchase orders: PDF only, at most this many bytes (settings.PO_UPLOAD_MAX_BYTES).
PO_UPLOAD_MAX_BYTES_DEFAULT = 5 * 1024 * 1024
PDF_CONTENT_TYPES = {"application/pdf", "application/x-pdf"}


def po_upload_max_bytes() -> int:
    return int(getattr(settings, "PO_UPLOAD_MAX_BYTES", PO_UPLOAD_MAX_BYTES_DEFAULT))


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


# --- rendering -----------------------------------------------------------------------------------

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
    document.sha256 = hashlib.sha256(data).hexdigest()
    document.pdf.save(f"{document.number}.pdf", ContentFile(data), save=False)
    document.save(update_fields=["pdf", "sha256"])
    return document


def _store_after_commit(model, pk: int) -> None:
    """Once the issuing transaction commits, hand the render to the worker (a task).

    robust: when the task cannot be queued the error is logged; the first download renders it.
    """
    from billing.tasks import document_render_and_store

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


# --- Submit For Billing --------------------------------------------------------------------------


@service_transaction
def event_submit_for_billing(
    *,
    actor: User,
    event: Event,
    signature_name: str,
    today: datetime.date | None = None,
) -> Event:
    """Sign and submit: re-check every rule under row locks, then apply everything or nothing.

    Stocking Order: devices become FACILITY_STOCK of the event's facility (sold, still active).
    Case with rep inventory: devices are sold and CONSUMED. Case with facility stock: devices are
    CONSUMED and not billed again. Writes the ledger, commission credits and the sales order.
    """
    today = today or timezone.localdate()
    event = lock_event(event, "facility", "representative", "manufacturer")
    ensure_can_edit(actor, event)
    if event.status != EventStatus.DRAFT:
        number = getattr(getattr(event, "sales_order", None), "number", "")
        raise ValidationError(
            f"{event} was already submitted for billing{f' ({number})' if number else ''}.",
            code="submitted",
        )
    errors = []
    signature_name = (signature_name or "").strip()
    if not signature_name:
        errors.append("Type your name to sign the submission.")
    if event.is_case and not event.patient_id.strip():
        errors.append("Enter the Patient ID before submitting the case (traceability).")
    # The devices come with their locks below (fresh, with their products), not with the lines.
    lines = list(event.lines.order_by("id"))
    if not lines:
        errors.append(
            "Add at least one device to return before submitting." if event.is_return
            else "Mark at least one device as used before submitting."
        )
    if errors:
        raise ValidationError(errors)
    if event.is_return:
        return _submit_return(
            actor=actor, event=event, lines=lines, signature_name=signature_name, today=today
        )

    devices = {d.pk: d for d in lock_devices(line.device_id for line in lines)}
    # Taken under the locks: the ledger's order is the order of what happened, even when this
    # submission waited for another transaction on these devices.
    now = timezone.now()
    for line in lines:
        device = devices[line.device_id]
        line.device = device
        problem = device_problem(event, device, today)
        if problem is None and line.kind == EventLine.Kind.USAGE and (
            line.sold_by_id != device.sold_on_id
        ):
            problem = f"{device.label} was moved since it was marked: mark it again."
        if problem:
            errors.append(problem)
    if errors:
        raise ValidationError(errors)

    # The lifecycle moves the devices and writes one ledger row each. No patient ID in the note:
    # the ledger can never be erased, and the movement links the event.
    devices = [line.device for line in lines]
    if event.is_stocking_order:  # AVAILABLE → FACILITY_STOCK of the event's facility, sold
        devices_transition(
            actor=actor, devices=devices, kind=MovementKind.SOLD_TO_FACILITY, event=event, at=now,
            status=DeviceStatus.FACILITY_STOCK, custodian=None, facility=event.facility,
            sold_on=event,
        )
    elif event.facility_stock_only:  # FACILITY_STOCK → CONSUMED, already sold
        devices_transition(
            actor=actor, devices=devices, kind=MovementKind.FACILITY_STOCK_CONSUMED, event=event,
            at=now, status=DeviceStatus.CONSUMED, custodian=None, used_in=event,
        )
    else:  # AVAILABLE → CONSUMED: sold and used at the event's facility
        devices_transition(
            actor=actor, devices=devices, kind=MovementKind.SOLD_AND_CONSUMED, event=event,
            at=now, status=DeviceStatus.CONSUMED, custodian=None, facility=event.facility,
            sold_on=event, used_in=event, kit=None,  # a unit of a loaned kit leaves the kit
        )
    EventLine.objects.filter(event=event).update(committed=True)
    event_line_summary_add(event=event)  # the reports' summary, same transaction
    bulk_insert(commission_credits_for_sale(event, lines, now))
    commission_summary_add(event=event)  # the dashboard's summary, same transaction

    sales_order = _issue_document(SalesOrder, event=event, lines=lines, at=now,
                                  doc_type=DocumentCounter.DocType.SALES_ORDER)
    # The PDF is rendered and stored once this transaction commits (below).
    sales_order_schedule_pdf(sales_order)
    _record_signature(event, actor=actor, signature_name=signature_name, at=now,
                      status=EventStatus.PENDING_PO if event.is_billable else EventStatus.CLOSED)
    event.sales_order = sales_order
    return event


def _issue_document(model, *, event: Event, doc_type: str, lines: list[EventLine], at):
    """The event's numbered document (gap-free number), totalling its lines' prices."""
    return model.objects.create(
        organization_id=event.organization_id,
        event=event,
        number=document_number_next(organization_id=event.organization_id, doc_type=doc_type),
        issued_at=at,
        total=sum((line.price for line in lines), Decimal("0.00")),
    )


def _record_signature(event: Event, *, actor: User, signature_name: str, at, status: str) -> None:
    """The rep's signature on a submitted event, and its next status."""
    set_status(event, status)
    event.submitted_at = at
    event.submitted_by = actor
    event.signature_name = signature_name
    event.save(update_fields=["status", "submitted_at", "submitted_by", "signature_name"])


RETURNED_FOR_DESTRUCTION = "returned for destruction"


def _submit_return(
    *, actor: User, event: Event, lines: list[EventLine], signature_name: str,
    today: datetime.date,
) -> Event:
    """Submit a Return (rule 11): reverse each device's sale, under the same locks as a sale.

    Each device comes back to the representative's custody as AVAILABLE — or, when expired or
    marked damaged, goes to REMOVED ("returned for destruction"). Its sale line is marked
    returned, the seller's commission is clawed back and a credit memo (CM-…) is issued.
    """
    devices = {d.pk: d for d in lock_devices(line.device_id for line in lines)}
    now = timezone.now()
    sales = open_sale_lines(devices)
    errors = []
    for line in lines:
        device = devices[line.device_id]
        line.device = device
        problem = device_problem(event, device, today)
        sale = sales.get(device.pk)
        if problem is None and (line.sold_by_id != device.sold_on_id or sale is None
                                or sale.event_id != device.sold_on_id):
            problem = f"{device.label} was moved since it was marked: mark it again."
        if problem:
            errors.append(problem)
    if errors:
        raise ValidationError(errors)

    # FACILITY_STOCK → AVAILABLE in the rep's custody, or → REMOVED when expired or damaged.
    destroyed = {line.device_id for line in lines
                 if line.damaged or line.device.expiration_date < today}
    back = [line.device for line in lines if line.device_id not in destroyed]
    destroy = [line.device for line in lines if line.device_id in destroyed]
    devices_transition(
        actor=actor, devices=back, kind=MovementKind.RETURNED, event=event, at=now,
        status=DeviceStatus.AVAILABLE, custodian=event.representative, facility=None,
        sold_on=None,
    )
    devices_transition(
        actor=actor, devices=destroy, kind=MovementKind.RETURNED_FOR_DESTRUCTION, event=event,
        note=RETURNED_FOR_DESTRUCTION, at=now,
        status=DeviceStatus.REMOVED, custodian=None, facility=None, sold_on=None,
    )
    EventLine.objects.filter(event=event).update(committed=True)
    event_line_summary_add(event=event)  # the reports' summary, same transaction
    EventLine.objects.filter(pk__in=[sales[line.device_id].pk for line in lines]).update(
        returned_by=event
    )
    bulk_insert(commission_clawbacks(event, lines, now))
    commission_summary_add(event=event)  # the dashboard's summary, same transaction

    credit_memo = _issue_document(CreditMemo, event=event, lines=lines, at=now,
                                  doc_type=DocumentCounter.DocType.CREDIT_MEMO)
    credit_memo_schedule_pdf(credit_memo)
    _record_signature(event, actor=actor, signature_name=signature_name, at=now,
                      status=EventStatus.CLOSED)
    event.credit_memo = credit_memo
    return event
