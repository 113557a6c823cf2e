"""The hospital's sign-off of a draft case: the contact's and the rep's drawn signatures and the
patient-sticker photo, collected on the phone before Submit For Billing (which checks the
organisation's requirements, ``billing.submit``). Keyword-only, one transaction each."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from core.db import service_transaction
from events.models import CaseSignOff, Event
from events.services import ensure_can_edit, ensure_draft, lock_event
from events.signoff_models import SIGNATURE_HEIGHT, SIGNATURE_WIDTH

MAX_POINTS = 4000
MAX_PHOTO_BYTES = 8 * 1024 * 1024
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}


def parse_strokes(raw: str, whose: str) -> list[list[list[float]]]:
    """A drawn signature as posted by the canvas (JSON: strokes of [x, y] points in the
    600 × 200 box), checked and rounded; an empty drawing is an empty list."""
    if not raw or not raw.strip():
        return []
    try:
        strokes = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValidationError(f"{whose}'s signature could not be read: sign again.") from None
    points = 0
    clean = []
    if not isinstance(strokes, list):
        raise ValidationError(f"{whose}'s signature could not be read: sign again.")
    for stroke in strokes:
        if not isinstance(stroke, list):
            raise ValidationError(f"{whose}'s signature could not be read: sign again.")
        line = []
        for point in stroke:
            if (
                not isinstance(point, list)
                or len(point) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
            ):
                raise ValidationError(f"{whose}'s signature could not be read: sign again.")
            x, y = point
            if not (0 <= x <= SIGNATURE_WIDTH and 0 <= y <= SIGNATURE_HEIGHT):
                raise ValidationError(f"{whose}'s signature could not be read: sign again.")
            line.append([round(x, 1), round(y, 1)])
        points += len(line)
        if line:
            clean.append(line)
    if points > MAX_POINTS:
        raise ValidationError(f"{whose}'s signature is too detailed: clear it and sign again.")
    if clean and points < 2:
        raise ValidationError(f"{whose}'s signature is a dot: sign with a line.")
    return clean


def photo_extension(photo: UploadedFile) -> str:
    if photo.size > MAX_PHOTO_BYTES:
        raise ValidationError("The sticker photo is larger than 8 MB: take it again.")
    head = photo.read(12)
    photo.seek(0)
    for magic, extension in PHOTO_TYPES.items():
        if head.startswith(magic) and (extension != "webp" or head[8:12] == b"WEBP"):
            return extension
    raise ValidationError("The sticker photo must be a JPEG, PNG or WebP picture.")


@service_transaction
def case_sign_off_record(
    *,
    actor: User,
    event: Event,
    contact_name: str = "",
    contact_title: str = "",
    contact_signature: str = "",
    rep_signature: str = "",
    sticker_photo: UploadedFile | None = None,
) -> CaseSignOff:
    """Record (or replace) the contact's and the rep's signatures and/or the sticker photo of a
    draft case. A part left out keeps what was recorded before."""
    ensure_permission(actor, "submit_for_billing")
    event = lock_event(event)
    ensure_can_edit(actor, event)
    ensure_draft(event)
    if not event.is_case:
        raise ValidationError("The hospital signs off a case.")
    contact = parse_strokes(contact_signature, "The contact")
    rep = parse_strokes(rep_signature, "Your")
    contact_name = " ".join((contact_name or "").split())[:200]
    if contact and not contact_name:
        raise ValidationError({"contact_name": "Enter the name of the contact who signed."})
    if not (contact or rep or sticker_photo):
        raise ValidationError("Draw a signature or take the sticker photo first.")
    extension = photo_extension(sticker_photo) if sticker_photo else ""
    now = timezone.now()
    sign_off, _ = CaseSignOff.objects.get_or_create(
        event=event, defaults={"organization_id": event.organization_id, "recorded_by": actor}
    )
    if contact:
        sign_off.contact_signature = contact
        sign_off.contact_name = contact_name
        sign_off.contact_title = " ".join((contact_title or "").split())[:200]
        sign_off.signed_at = now
    if rep:
        sign_off.rep_signature = rep
    if sticker_photo:
        if sign_off.sticker_photo:
            sign_off.sticker_photo.delete(save=False)
        sign_off.sticker_photo.save(
            f"sticker-{now:%Y%m%d%H%M%S}.{extension}", sticker_photo, save=False
        )
        sign_off.sticker_taken_at = now
    sign_off.recorded_by = actor
    sign_off.updated_at = now
    sign_off.save()
    return sign_off
