"""Recall pages: the list, "Open a recall", the recall page (holders and their progress,
facilities with their letters, acknowledgements and cases), sending the letters, acknowledging
(a rep, or the facility's contact by a signed link that needs no login), closing and the close
report (PDF, CSV). Function views: validate with a form, call one service, map its errors back."""

from __future__ import annotations

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required, public
from accounts.security import patient_access_record
from core.exports import Column, csv_download
from core.forms import add_service_errors
from core.http import content_disposition
from inventory.models import Recall, RecallStatus
from recalls import documents, selectors, services
from recalls.forms import AcknowledgeForm, RecallForm
from recalls.models import RecallNotice

OUTSTANDING_PAGE_SIZE = 50


def _recall(request, pk: int) -> Recall:
    return get_object_or_404(selectors.recall_detail_qs(user=request.user), pk=pk)


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


@permission_required("view_recalls")
def recall_list(request):
    recalls = Paginator(selectors.recall_list(user=request.user), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "recalls/recall_list.html", {"page": recalls})


@permission_required("manage_recalls")
def recall_create(request):
    form = RecallForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recall = services.recall_start(
                actor=request.user,
                manufacturer=data["manufacturer"],
                reference=data["reference"],
                reason=data["reason"],
                recall_class=data["recall_class"],
                action=data["action"],
                scope=data["scope"],
                lots=data["lots"],
                product=data["product"],
                serial_from=data["serial_from"],
                serial_to=data["serial_to"],
                expiry_from=data["expiry_from"],
                expiry_to=data["expiry_to"],
                notice=data["notice"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            progress = selectors.recall_progress(recall=recall)
            messages.success(
                request,
                f"Recall {recall.reference} is open: {progress.units} "
                f"unit{'s' if progress.units != 1 else ''} quarantined.",
            )
            return redirect("recalls:detail", recall.pk)
    return render(request, "recalls/recall_form.html", {"form": form})


@permission_required("view_recalls")
def recall_detail(request, pk: int):
    recall = _recall(request, pk)
    holders = selectors.recall_holders(recall=recall)
    facilities, patients = selectors.recall_facilities(
        recall=recall, user=request.user, holders=holders
    )
    if patients:
        patient_access_record(
            request, patient_ids=patients, what="recall page", subject=str(recall)
        )
    outstanding = Paginator(
        selectors.recall_outstanding_units(recall=recall), OUTSTANDING_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "recalls/recall_detail.html",
        {
            "recall": recall,
            "holders": holders,
            "facilities": facilities,
            "progress": selectors.recall_progress(recall=recall),
            "outstanding": outstanding,
            "ack_form": AcknowledgeForm(),
        },
    )


@require_POST
@permission_required("manage_recalls")
def recall_letters_send(request, pk: int):
    recall = _recall(request, pk)
    try:
        count = services.recall_letters_send(
            actor=request.user, recall=recall, base_url=request.build_absolute_uri("/")
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(
            request,
            f"{count} letter{'s' if count != 1 else ''} queued: each is "
            "rendered and emailed to the facility's contacts.",
        )
    return redirect("recalls:detail", recall.pk)


def _notice(request, recall: Recall, notice_pk: int) -> RecallNotice:
    return get_object_or_404(
        RecallNotice.objects.for_user(request.user).select_related("facility"),
        pk=notice_pk,
        recall=recall,
    )


@require_POST
@permission_required("acknowledge_recalls")
def notice_acknowledge(request, pk: int, notice_pk: int):
    recall = _recall(request, pk)
    notice = _notice(request, recall, notice_pk)
    form = AcknowledgeForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    try:
        services.notice_acknowledge(actor=request.user, notice=notice, name=name)
    except (ValidationError, PermissionDenied) as error:
        messages.error(
            request, _errors(error) if isinstance(error, ValidationError) else str(error)
        )
    else:
        messages.success(request, f"{notice.facility}'s acknowledgement is recorded.")
    return redirect("recalls:detail", recall.pk)


def _pdf(data: bytes, filename: str, *, attachment: bool = False) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(filename, attachment=attachment)
    response["Cache-Control"] = "private, no-store"
    return response


@permission_required("view_recalls")
def notice_letter_pdf(request, pk: int, notice_pk: int):
    recall = _recall(request, pk)
    notice = _notice(request, recall, notice_pk)
    return _pdf(
        documents.letter_pdf_bytes(notice=notice),
        f"recall-{recall.reference}-{notice.facility.name}.pdf",
    )


@permission_required("view_recalls")
def recall_notice_pdf(request, pk: int):
    """The manufacturer's notice as uploaded (served as an attachment, sandboxed)."""
    recall = _recall(request, pk)
    if not recall.notice:
        return HttpResponse("This recall has no notice PDF.", status=404)
    with recall.notice.open("rb") as handle:
        response = _pdf(handle.read(), f"notice-{recall.reference}.pdf", attachment=True)
    response["Content-Security-Policy"] = "sandbox"
    return response


@require_POST
@permission_required("manage_recalls")
def recall_close(request, pk: int):
    recall = _recall(request, pk)
    try:
        services.recall_close(actor=request.user, recall=recall)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Recall {recall.reference} is closed.")
    return redirect("recalls:detail", recall.pk)


@permission_required("manage_recalls")
def recall_report_pdf(request, pk: int):
    recall = _recall(request, pk)
    return _pdf(documents.report_render(recall), f"recall-{recall.reference}-report.pdf")


REPORT_COLUMNS = [
    Column("Catalogue number", lambda r: r["reference"]),
    Column("Description", lambda r: r["description"]),
    Column("Lot", lambda r: r["lot"]),
    Column("Serial", lambda r: r["serial"]),
    Column("Expiry", lambda r: r["expiry"]),
    Column("Holder", lambda r: r["holder"]),
    Column("Held by", lambda r: r["held_by"]),
    Column("Kit", lambda r: r["kit"]),
    Column("Status when recalled", lambda r: r["status_at_open"]),
    Column("Status now", lambda r: r["status"]),
    Column("Came back by", lambda r: r["how"]),
    Column("Came back at", lambda r: r["when"]),
]


@permission_required("manage_recalls")
def recall_report_csv(request, pk: int):
    recall = _recall(request, pk)
    return csv_download(
        f"recall-{recall.reference}-report.csv", REPORT_COLUMNS, documents.report_rows(recall)
    )


# --- the facility's contact: a signed link, no login ----------------------------------------


@public
def acknowledge_link(request, token: str):
    """The facility contact's page: the recall, the letter's content and one button. Needs no
    login: the signed token names the letter and expires after ``RECALL_ACK_LINK_DAYS``."""
    try:
        notice = services.notice_for_token(token)
    except signing.SignatureExpired:
        return render(request, "recalls/acknowledge_link.html", {"expired": True}, status=410)
    except (signing.BadSignature, ValueError, RecallNotice.DoesNotExist):
        return render(request, "recalls/acknowledge_link.html", {"invalid": True}, status=404)
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_acknowledge(notice=notice, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_errors(form, error)
    context = documents.letter_context(notice)
    context.update(
        {
            "form": form,
            "done": notice.acknowledged,
            "closed": notice.recall.status != RecallStatus.OPEN,
            "action_url": reverse("recalls:acknowledge_link", args=[token]),
        }
    )
    return render(request, "recalls/acknowledge_link.html", context)
