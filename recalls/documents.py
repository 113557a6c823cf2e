"""The recall's PDFs: each facility's letter (rendered once by the worker and stored with its
SHA-256, like billing's documents) and the close report (rendered when downloaded: it reads only
what the closed recall can no longer change). Both through ``core.pdf.render_pdf`` (WeasyPrint,
our static files only)."""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone

from core.db import service_transaction
from core.pdf import render_pdf
from inventory.models import Device, DeviceStatus, Recall, RecallUnit
from recalls.models import RecallNotice
from recalls.selectors import (
    recall_holders,
    recall_progress,
    recall_units_report,
    release_movements,
    used_devices,
)


def letter_context(notice: RecallNotice) -> dict:
    """What one facility's letter lists: its affected facility stock (held when the recall
    opened) and the cases there that used units in scope. No patient ID is printed: the letter
    is emailed; the case's date, name and surgeon let the hospital find its patient."""
    recall = Recall.objects.select_related("manufacturer", "organization").get(pk=notice.recall_id)
    stock = list(
        RecallUnit.objects.filter(recall=recall, facility_id=notice.facility_id)
        .select_related("device__product", "kit")
        .order_by("device__product__reference", "device__lot", "device__serial")
    )
    used = [d for d in used_devices(recall=recall) if d.used_in.facility_id == notice.facility_id]
    return {
        "recall": recall,
        "organization": recall.organization,
        "facility": notice.facility,
        "notice": notice,
        "stock": stock,
        "used": used,
        "today": timezone.localdate(),
    }


def letter_render(notice: RecallNotice) -> bytes:
    return render_pdf("recalls/pdf/letter.html", letter_context(notice))


@service_transaction
def letter_store_pdf(*, notice: RecallNotice) -> RecallNotice:
    """Render a facility's letter once and store it with its SHA-256 (the row is locked: two
    renders never race)."""
    notice = (
        RecallNotice.objects.select_for_update(of=("self",), no_key=True)
        .select_related("facility", "recall")
        .get(pk=notice.pk)
    )
    if notice.sha256:
        return notice
    data = letter_render(notice)
    notice.sha256 = hashlib.sha256(data).hexdigest()
    notice.rendered_at = timezone.now()
    notice.pdf.save(
        f"{notice.recall.reference}-{notice.facility_id}.pdf", ContentFile(data), save=False
    )
    notice.save(update_fields=["pdf", "sha256", "rendered_at"])
    return notice


def letter_pdf_bytes(*, notice: RecallNotice) -> bytes:
    """The stored letter, checked against its hash (rendered now if the worker has not yet)."""
    if not notice.sha256:
        notice = letter_store_pdf(notice=notice)
    with notice.pdf.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != notice.sha256:
        raise ValidationError(f"The stored letter of {notice} fails its SHA-256 check.")
    return data


def report_rows(recall: Recall) -> list[dict]:
    """Every unit the recall took: who held it, where it is now, how it came back."""
    releases = release_movements(recall=recall)
    rows = []
    for unit in recall_units_report(recall=recall):
        device, release = unit.device, releases.get(unit.device_id)
        if release is None:
            how = "still quarantined" if device.status == DeviceStatus.QUARANTINED else ""
        elif release.event_id:
            how = f"Return {release.event.name}"
        else:
            how = (
                f"Stock adjustment #{release.adjustment_id} "
                f"({release.adjustment.get_reason_display()})"
            )
        rows.append(
            {
                "reference": device.product.reference,
                "description": device.product.description,
                "lot": device.lot,
                "serial": device.serial or "",
                "expiry": device.expiration_date,
                "holder": unit.get_holder_display(),
                "held_by": str(unit.facility or unit.custodian or ""),
                "kit": unit.kit.tag if unit.kit_id else "",
                "status_at_open": unit.from_status,
                "status": device.get_status_display(),
                "how": how,
                "when": release.at if release else None,
            }
        )
    return rows


def report_context(recall: Recall) -> dict:
    recall = Recall.objects.select_related(
        "manufacturer", "organization", "product", "opened_by", "closed_by"
    ).get(pk=recall.pk)
    return {
        "recall": recall,
        "organization": recall.organization,
        "rows": report_rows(recall),
        "holders": recall_holders(recall=recall),
        "progress": recall_progress(recall=recall),
        "notices": list(RecallNotice.objects.filter(recall=recall).select_related("facility")),
        "used": list(used_devices(recall=recall)),
        "today": timezone.localdate(),
    }


def report_render(recall: Recall) -> bytes:
    return render_pdf("recalls/pdf/report.html", report_context(recall))


def used_count(recall: Recall) -> int:
    return Device.objects.filter(recall.scope_q(), used_in__isnull=False).count()
