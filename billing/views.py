"""Billing screens: queue, CSV export, PO / invoice / payment actions, PDF downloads.

Every queryset goes through ``for_user`` (reps: their own events; another organisation's event is a
404). Actions are admin-only (403 otherwise) and call one service from ``billing.services``.
"""

from __future__ import annotations

import datetime
import logging

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from accounts.security import patient_access_record, safe_next
from billing import documents, selectors, services, submit
from billing.forms import BillingQueueFilterForm, PurchaseOrderCorrectForm, PurchaseOrderForm
from core.exports import Column, csv_download, field
from core.forms import add_service_errors
from core.http import content_disposition
from events.forms import SUBMIT_ERRORS_SESSION_KEY, SubmitForBillingForm
from events.models import Event, EventStatus
from events.selectors import event_detail_qs

logger = logging.getLogger(__name__)
QUEUE_PAGE_SIZE = 50


def _event(request, pk: int) -> Event:
    return get_object_or_404(
        Event.objects.for_user(request.user).select_related("facility", "representative"), pk=pk
    )


def _back(request, event: Event):
    return redirect(safe_next(request, reverse("events:detail", args=[event.pk])))


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- queue and export ---------------------------------------------------------------------------


def _queue_filters(request) -> tuple[BillingQueueFilterForm, dict]:
    form = BillingQueueFilterForm(request.GET or None, user=request.user)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {key: value for key, value in form.cleaned_data.items() if value}
    return form, filters


@permission_required("view_billing")
def billing_queue(request):
    form, filters = _queue_filters(request)
    counts = selectors.billing_status_counts(user=request.user)
    paginator = Paginator(selectors.billing_queue(user=request.user, **filters), QUEUE_PAGE_SIZE)
    if set(filters) <= {"status"}:
        # The status tabs have counted these events already: no second count of the queue.
        paginator.count = counts.get(filters.get("status"), sum(counts.values()))
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    status_tabs = [
        {"value": value, "label": EventStatus(value).label, "count": counts[value]}
        for value in counts
    ]
    return render(request, "billing/billing_queue.html", {
        "form": form,
        "page": page,
        "status_tabs": status_tabs,
        "total_count": sum(counts.values()),
        "current_status": filters.get("status", ""),
        "querystring": query.urlencode(),
        "can_act": request.user.can("record_po"),
    })


def _order(event: Event):
    """The event's sales order, or its credit memo for a return."""
    return _related(event, "sales_order") or _related(event, "credit_memo")


def _order_total(event: Event):
    order = _order(event)
    if order is None:
        return ""
    return -order.total if event.is_return else order.total  # a credit memo credits the facility


def _document_number(name: str):
    def number(event: Event) -> str:
        document = _related(event, name)
        return document.number if document else ""
    return number


def _invoice_date(name: str):
    def date(event: Event):
        invoice = _related(event, "invoice")
        value = getattr(invoice, name, None) if invoice else None
        return value.date() if isinstance(value, datetime.datetime) else value
    return date


BILLING_EXPORT_COLUMNS = [
    Column("Event", field("name")), Column("Event Type", Event.get_event_type_display),
    Column("Date", field("date")), Column("Facility", field("facility.name")),
    Column("Representative", lambda event: str(event.representative)),
    Column("Status", Event.get_status_display),
    Column("Sales order / credit memo", lambda event: getattr(_order(event), "number", "")),
    Column("Total", _order_total), Column("PO number", _document_number("purchase_order")),
    Column("Invoice", _document_number("invoice")),
    Column("Invoice date", _invoice_date("issued_at")),
    Column("Due date", _invoice_date("due_date")), Column("Paid", _invoice_date("paid_at")),
]


@permission_required("view_billing")
def billing_export(request):
    form, filters = _queue_filters(request)
    rows = selectors.billing_queue(user=request.user, **filters).iterator(chunk_size=500)
    return csv_download("billing.csv", BILLING_EXPORT_COLUMNS, rows)


def _related(event: Event, name: str):
    try:
        return getattr(event, name)
    except ObjectDoesNotExist:
        return None


# --- actions ------------------------------------------------------------------------------------


@permission_required("record_po")
def billing_po_record(request, pk: int):
    event = _event(request, pk)
    if request.method == "POST":
        form = PurchaseOrderForm(request.POST, request.FILES,
                                 organization_id=request.user.organization_id)
        if form.is_valid():
            try:
                po = services.purchase_order_record(
                    actor=request.user, event=event, number=form.cleaned_data["number"],
                    pdf_file=form.cleaned_data.get("pdf_file"),
                    total=form.cleaned_data.get("total"), lines=form.cleaned_data.get("lines"),
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, f"{po} recorded: {event.name} is ready to invoice."
                )
                return _back(request, event)
        status = 400
    else:
        form = PurchaseOrderForm(organization_id=request.user.organization_id)
        status = 200
    return render(
        request, "billing/billing_po_form.html",
        {"event": event, "form": form, "next": request.POST.get("next") or
         request.GET.get("next", "")},
        status=status,
    )


@permission_required("issue_invoice")
@require_POST
def billing_invoice_issue(request, pk: int):
    event = _event(request, pk)
    reason = request.POST.get("mismatch_reason", "") if request.POST.get("invoice_anyway") else ""
    try:
        invoice = services.invoice_issue(actor=request.user, event=event,
                                         mismatch_reason=reason[:1000])
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request, f"Invoice {invoice.number} issued for {event.name}, due "
            f"{invoice.due_date:%Y-%m-%d}."
        )
    return _back(request, event)


@permission_required("mark_paid")
@require_POST
def billing_mark_paid(request, pk: int):
    event = _event(request, pk)
    try:
        services.event_mark_paid(actor=request.user, event=event)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, f"{event.name} marked paid.")
    return _back(request, event)


# --- downloads ----------------------------------------------------------------------------------


def _pdf_response(request, document, filename: str, *, attachment: bool = False) -> HttpResponse:
    try:
        data = documents.document_pdf_bytes(document=document)
    except ValidationError as error:
        raise Http404(_error_text(error)) from None
    except OSError as error:  # rendered on demand, but the storage refused it (disk full)
        logger.error("The PDF of %s could not be stored (%s); the worker retries it.",
                     document.number, error)
        response = render(request, "billing/document_not_ready.html",
                          {"document": document, "event": document.event}, status=503)
        response["Retry-After"] = "120"
        response["Cache-Control"] = "no-store"
        return response
    except documents.DocumentIntegrityError:
        logger.exception("Stored PDF failed its integrity check: %s", document)
        return HttpResponseServerError(
            "The stored document failed its integrity check; an administrator has been told."
        )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(filename, attachment=attachment)
    response["Cache-Control"] = "private, no-store"
    if attachment:
        # An uploaded file is never rendered as part of our origin.
        response["Content-Security-Policy"] = "sandbox"
    return response


def _record_patient(request, event: Event, what: str) -> None:
    """The case's documents print its patient ID: record who downloaded them."""
    if event.is_case and event.patient_id:
        patient_access_record(request, patient_ids=[event.patient_id], what=what,
                              subject=str(event))


def _document(event: Event, name: str):
    document = _related(event, name)
    if document is None:
        raise Http404("This event has no such document.")
    return document


@permission_required("view_documents")
def billing_sales_order_pdf(request, pk: int):
    event = _event(request, pk)
    order = _document(event, "sales_order")
    _record_patient(request, event, "sales order PDF")
    return _pdf_response(request, order, f"{order.number}.pdf")


@permission_required("view_documents")
def billing_invoice_pdf(request, pk: int):
    event = _event(request, pk)
    invoice = _document(event, "invoice")
    _record_patient(request, event, "invoice PDF")
    return _pdf_response(request, invoice, f"{invoice.number}.pdf")


@permission_required("view_documents")
def billing_credit_memo_pdf(request, pk: int):
    memo = _document(_event(request, pk), "credit_memo")
    return _pdf_response(request, memo, f"{memo.number}.pdf")


@permission_required("view_documents")
def billing_po_pdf(request, pk: int):
    po = _document(_event(request, pk), "purchase_order")
    if not po.pdf:
        raise Http404("No PDF was uploaded with this PO.")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in po.number)[:60]
    # PO numbers often start with "PO" already: "PO-4471.pdf", never "PO-PO-4471.pdf".
    name = safe if safe.upper().startswith("PO") else f"PO-{safe}"
    return _pdf_response(request, po, f"{name}.pdf", attachment=True)


# --- Submit For Billing (its form is on the event page) ------------------------------------------


def _event_url(event: Event, tab: str) -> str:
    return f"{reverse('events:detail', args=[event.pk])}?tab={tab}"


@permission_required("submit_for_billing")
@require_POST
def event_submit(request, pk: int):
    """"Submit For Billing": the rep's signature. Submitting twice only shows the result."""
    event = get_object_or_404(event_detail_qs(user=request.user), pk=pk)
    if event.is_cancelled:
        messages.info(request, f"{event} was cancelled and can't be submitted.")
        return redirect(_event_url(event, "details"))
    if not event.is_draft:
        messages.info(request, f"{event} was already submitted for billing.")
        return redirect(_event_url(event, "used"))
    form = SubmitForBillingForm(request.POST, event=event)
    if form.is_valid():
        try:
            event = submit.event_submit_for_billing(
                actor=request.user, event=event,
                signature_name=form.cleaned_data["signature_name"],
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "submitted":
                messages.info(request, exc.messages[0])
                return redirect(_event_url(event, "used"))
            errors = list(exc.messages)
        else:
            if event.is_return:
                messages.success(
                    request, f"{event} was submitted: credit memo {event.credit_memo.number}."
                )
            else:
                messages.success(
                    request, f"{event} was submitted for billing: sales order "
                    f"{event.sales_order.number}.",
                )
            return redirect(_event_url(event, "used"))
    else:
        errors = [error for field_errors in form.errors.values() for error in field_errors]
    # Refused: back on the event page (not left on /submit/), the reasons in the submit form.
    request.session[SUBMIT_ERRORS_SESSION_KEY.format(event.pk)] = errors
    return redirect(_event_url(event, "used"))


@permission_required("record_po")
@require_POST
def billing_po_correct(request, pk: int):
    """Correct the recorded PO's total and lines (before the invoice)."""
    event = _event(request, pk)
    form = PurchaseOrderCorrectForm(request.POST, organization_id=request.user.organization_id)
    if form.is_valid():
        try:
            services.purchase_order_correct(
                actor=request.user, event=event, total=form.cleaned_data.get("total"),
                lines=form.cleaned_data.get("lines") or [],
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, f"The purchase order of {event.name} was corrected.")
    else:
        messages.error(request, " ".join(
            message for errors in form.errors.values() for message in errors))
    return _back(request, event)
