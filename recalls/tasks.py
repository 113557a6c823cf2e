"""Background work of recalls, run by the worker: render a facility's letter and email it to the
facility's contacts with its acknowledgement link. Nothing here imports the services."""

from __future__ import annotations

from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from consignment.models import FacilityContact
from recalls.documents import letter_pdf_bytes
from recalls.models import RecallNotice

ACK_SALT = "recalls.acknowledge"  # recalls.services.ack_token signs with the same salt


@task
def recall_letter_send(notice_id: int, base_url: str) -> int:
    """Render (once) and email one facility's letter to its contacts with an email address.
    Returns how many addresses it was sent to (0: no contact has one; the rep delivers it)."""
    notice = RecallNotice.objects.select_related("recall", "facility").get(pk=notice_id)
    data = letter_pdf_bytes(notice=notice)
    to = list(
        FacilityContact.objects.filter(facility_id=notice.facility_id)
        .exclude(email="")
        .order_by("name")
        .values_list("email", flat=True)
    )
    if not to:
        return 0
    token = signing.TimestampSigner(salt=ACK_SALT).sign(str(notice.pk))
    link = base_url.rstrip("/") + reverse("recalls:acknowledge_link", args=[token])
    body = render_to_string(
        "recalls/letter_email.txt",
        {
            "notice": notice,
            "recall": notice.recall,
            "facility": notice.facility,
            "link": link,
        },
    )
    message = EmailMessage(
        subject=f"Recall {notice.recall.reference}: action needed at {notice.facility.name}",
        body=body,
        to=to,
    )
    message.attach(f"recall-{notice.recall.reference}.pdf", data, "application/pdf")
    message.send()
    with transaction.atomic():
        RecallNotice.objects.filter(pk=notice.pk).update(
            sent_at=timezone.now(), sent_to=", ".join(to)
        )
    return len(to)
