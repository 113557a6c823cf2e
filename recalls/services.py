"""Carrying a recall out: open it (inventory quarantines the units; here, one letter per facility
concerned), send the letters (the worker renders and emails them), record each facility's
acknowledgement (a rep, or the facility's contact by a signed link), and close it once every unit
is accounted for and every facility has acknowledged.

The units come back through the paths that exist: a Return of quarantined facility stock
(``billing.submit``: credit memo, clawback) or a stock adjustment of rep stock ("Returned to
manufacturer", "Destroyed"). A unit is accounted for once it is no longer quarantined.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from core.db import service_transaction
from core.permissions import ensure_same_organization
from inventory.models import Device, DeviceStatus, Recall, RecallStatus, RecallUnit
from inventory.recall_services import recall_open
from recalls.models import RecallNotice
from recalls.tasks import ACK_SALT, recall_letter_send


def affected_facility_ids(recall: Recall) -> set[int]:
    """The facilities a recall concerns: those that held a unit it took (facility stock, a
    loaned kit) and those where a unit in its scope was used in a case."""
    held = set(
        RecallUnit.objects.filter(recall=recall, facility__isnull=False)
        .values_list("facility_id", flat=True)
        .distinct()
    )
    used = set(
        Device.objects.filter(recall.scope_q(), used_in__isnull=False)
        .values_list("used_in__facility_id", flat=True)
        .distinct()
    )
    return held | used


@service_transaction
def recall_start(*, actor: User, **fields) -> Recall:
    """Open a recall (``inventory.recall_services.recall_open``: the units in scope are
    quarantined) and prepare one letter per facility it concerns."""
    recall = recall_open(actor=actor, **fields)
    RecallNotice.objects.bulk_create(
        [
            RecallNotice(organization_id=recall.organization_id, recall=recall, facility_id=pk)
            for pk in sorted(affected_facility_ids(recall))
        ]
    )
    return recall


def _lock_recall(actor: User, recall: Recall) -> Recall:
    ensure_same_organization(actor, recall)
    return Recall.objects.select_for_update(of=("self",), no_key=True).get(pk=recall.pk)


def ack_token(notice: RecallNotice) -> str:
    """The signed, expiring token of a facility's acknowledgement link (no login needed)."""
    return signing.TimestampSigner(salt=ACK_SALT).sign(str(notice.pk))


def notice_for_token(token: str) -> RecallNotice:
    """The notice a link's token names; ``signing.SignatureExpired`` once it is older than
    ``RECALL_ACK_LINK_DAYS``, ``signing.BadSignature`` when forged."""
    pk = signing.TimestampSigner(salt=ACK_SALT).unsign(
        token, max_age=datetime.timedelta(days=settings.RECALL_ACK_LINK_DAYS)
    )
    return RecallNotice.objects.select_related("recall", "facility").get(pk=int(pk))


@service_transaction
def recall_letters_send(*, actor: User, recall: Recall, base_url: str) -> int:
    """Queue every facility's letter (rendered and emailed by the worker after commit, with the
    facility's acknowledgement link under ``base_url``). Returns how many were queued."""
    ensure_permission(actor, "manage_recalls")
    recall = _lock_recall(actor, recall)
    if recall.status != RecallStatus.OPEN:
        raise ValidationError(f"Recall {recall.reference} is closed.")
    ids = list(RecallNotice.objects.filter(recall=recall).values_list("pk", flat=True))
    if not ids:
        raise ValidationError(
            "No facility holds or used a unit of this recall: there is no letter to send."
        )
    base_url = base_url.rstrip("/")
    for pk in ids:
        transaction.on_commit(lambda pk=pk: recall_letter_send.enqueue(pk, base_url), robust=True)
    return len(ids)


@service_transaction
def notice_acknowledge(
    *, notice: RecallNotice, name: str, actor: User | None = None
) -> RecallNotice:
    """Record the facility's acknowledgement of the letter: by a rep covering the facility (or
    an admin), or — ``actor`` None — by the facility's contact through the signed link."""
    name = (name or "").strip()
    if actor is not None:
        ensure_permission(actor, "acknowledge_recalls")
        ensure_same_organization(actor, notice)
        if actor.is_rep and not actor.covered_facilities.filter(pk=notice.facility_id).exists():
            raise PermissionDenied(
                "Only a rep covering this facility (or an admin) can record its acknowledgement."
            )
        name = name or actor.get_full_name() or actor.username
    if not name:
        raise ValidationError({"name": "Type your name to acknowledge."})
    if len(name) > 200:
        raise ValidationError({"name": "The name is longer than 200 characters."})
    notice = (
        RecallNotice.objects.select_for_update(of=("self",), no_key=True)
        .select_related("recall", "facility")
        .get(pk=notice.pk)
    )
    if notice.recall.status != RecallStatus.OPEN:
        raise ValidationError(f"Recall {notice.recall.reference} is closed.")
    if notice.acknowledged_at is not None:
        raise ValidationError(
            f"{notice.facility} already acknowledged recall {notice.recall.reference} on "
            f"{timezone.localtime(notice.acknowledged_at):%Y-%m-%d} ({notice.acknowledged_name})."
        )
    notice.acknowledged_at = timezone.now()
    notice.acknowledged_by = actor
    notice.acknowledged_name = name
    notice.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledged_name"])
    return notice


OUTSTANDING_NAMED = 10  # units a refusal to close names (then "and N more")


@service_transaction
def recall_close(*, actor: User, recall: Recall) -> Recall:
    """Close the recall: every unit it took is accounted for (no longer quarantined: returned,
    destroyed) and every facility it concerns has acknowledged its letter."""
    ensure_permission(actor, "manage_recalls")
    recall = _lock_recall(actor, recall)
    if recall.status != RecallStatus.OPEN:
        raise ValidationError(f"Recall {recall.reference} is already closed.")
    errors = []
    outstanding = list(
        Device.objects.filter(
            recall_units__recall=recall, status=DeviceStatus.QUARANTINED
        ).order_by("pk")
    )
    if outstanding:
        named = ", ".join(d.label for d in outstanding[:OUTSTANDING_NAMED])
        more = len(outstanding) - OUTSTANDING_NAMED
        errors.append(
            f"{len(outstanding)} unit{'s are' if len(outstanding) > 1 else ' is'} still "
            f"quarantined: {named}{f' and {more} more' if more > 0 else ''}. Bring them back by "
            "a Return (facility stock) or a stock adjustment (returned to manufacturer, "
            "destroyed)."
        )
    waiting = list(
        RecallNotice.objects.filter(recall=recall, acknowledged_at__isnull=True)
        .select_related("facility")
        .order_by("facility__name")
    )
    if waiting:
        errors.append("Not acknowledged yet: " + ", ".join(str(n.facility) for n in waiting) + ".")
    if errors:
        raise ValidationError(errors)
    recall.status = RecallStatus.CLOSED
    recall.closed_at = timezone.now()
    recall.closed_by = actor
    recall.save(update_fields=["status", "closed_at", "closed_by"])
    return recall
