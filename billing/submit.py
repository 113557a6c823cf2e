"""Submit For Billing: billing's use case across the apps, one path for every event type.

``event_submit_for_billing`` reads the event's policy (``events.policy.POLICIES``) and does what
it declares, in one transaction: lock the event, then its devices (by pk); check every line again
(``events.policy.line_problem``); move the devices through the lifecycle (the transition rows set
the fields); commit the lines; write the commission effect; issue the numbered document; sign and
set the next status. The PDF is rendered after commit by the worker (``billing.tasks``).

The policy names the document and the commission effect; this module maps each name to billing's
model and counter and to the commissions function (``DOCUMENTS``, ``COMMISSION_EFFECTS``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from billing.documents import document_issue
from billing.models import CreditMemo, DocumentCounter, SalesOrder
from billing.tasks import document_store_after_commit
from commissions.models import CommissionCredit
from commissions.services import (
    commission_clawbacks,
    commission_credits_for_sale,
    commission_credits_for_usage,
    commission_summary_add,
)
from core.db import bulk_insert, service_transaction
from core.outbox import OutboxKind, emit
from events.models import CaseSignOff, Event, EventLine, EventStatus
from events.policy import (
    NOTES,
    CommissionEffect,
    Document,
    line_problem,
    open_sale_lines,
    policy_for,
)
from events.pricing import freeze_line_prices
from events.services import ensure_can_edit, event_line_summary_add, lock_event, set_status
from inventory.lifecycle import devices_transition
from inventory.services import lock_devices
from inventory.stock_alerts import facility_stock_pairs, stock_low_emit


class DocumentKind(NamedTuple):
    model: type[SalesOrder] | type[CreditMemo]
    doc_type: str  # the DocumentCounter.DocType its number counts in
    related_name: str  # the event's attribute that holds it


DOCUMENTS: dict[str, DocumentKind] = {
    Document.SALES_ORDER: DocumentKind(SalesOrder, DocumentCounter.DocType.SALES_ORDER,
                                       "sales_order"),
    Document.CREDIT_MEMO: DocumentKind(CreditMemo, DocumentCounter.DocType.CREDIT_MEMO,
                                       "credit_memo"),
}

COMMISSION_EFFECTS: dict[str, Callable[..., list[CommissionCredit]]] = {
    CommissionEffect.SALE_CREDIT: commission_credits_for_sale,
    CommissionEffect.USAGE_CREDIT: commission_credits_for_usage,
    CommissionEffect.CLAWBACK: commission_clawbacks,
}


def sign_off_problems(event: Event) -> list[str]:
    """What the organisation's sign-off settings still need before this case is submitted."""
    organization = event.organization
    if not (organization.require_contact_signature or organization.require_sticker_photo):
        return []
    sign_off = CaseSignOff.objects.filter(event=event).first()
    problems = []
    if organization.require_contact_signature and not (sign_off and sign_off.contact_signed):
        problems.append("The hospital contact's signature is required: collect it under "
                        "Hospital sign-off.")
    if organization.require_sticker_photo and not (sign_off and sign_off.has_sticker):
        problems.append("A photo of the patient sticker is required: take it under Hospital "
                        "sign-off.")
    return problems


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
    CONSUMED and not billed again. Return: each device's sale is reversed; it comes back to the
    rep's custody as AVAILABLE, or goes to REMOVED when expired or marked damaged ("returned for
    destruction"), and the seller's commission is clawed back. Writes the ledger, the commission
    effect and the sales order or credit memo (``events.policy``).
    """
    today = today or timezone.localdate()
    event = lock_event(event, "facility", "representative", "manufacturer", "organization")
    ensure_can_edit(actor, event)
    if event.status != EventStatus.DRAFT:
        number = getattr(getattr(event, "sales_order", None), "number", "")
        raise ValidationError(
            f"{event} was already submitted for billing{f' ({number})' if number else ''}.",
            code="submitted",
        )
    policy = policy_for(event)
    errors = []
    signature_name = (signature_name or "").strip()
    if not signature_name:
        errors.append("Type your name to sign the submission.")
    if policy.needs_patient_id and not event.patient_id.strip():
        errors.append("Enter the Patient ID before submitting the case (traceability).")
    if event.is_case:
        errors.extend(sign_off_problems(event))
    if event.scheduled_at is not None and event.date > today:
        errors.append(f"{event} is scheduled for {event.date:%d %b %Y}: submit it on the day of "
                      "the case.")
    # The devices come with their locks below (fresh, with their products), not with the lines.
    lines = list(event.lines.order_by("id"))
    if not lines:
        errors.append(policy.nothing_marked)
    if errors:
        raise ValidationError(errors)

    devices = {d.pk: d for d in lock_devices(line.device_id for line in lines)}
    # Taken under the locks: the ledger's order is the order of what happened, even when this
    # submission waited for another transaction on these devices.
    now = timezone.now()
    sales = open_sale_lines(devices) if policy.reverses_sale else {}
    for line in lines:
        line.device = devices[line.device_id]
        problem = line_problem(event, line, line.device, today, sales)
        if problem:
            errors.append(problem)
    if errors:
        raise ValidationError(errors)

    # The price each sale line is billed at: its contract's (or list) price, or the admin's
    # override; frozen now, with its contract (events.pricing).
    freeze_line_prices(event=event, lines=lines)

    stock_before = facility_stock_pairs(devices.values(), today=today)  # before they move
    # The lifecycle moves the devices (its rows say the fields) and writes one ledger row each.
    # No patient ID in the note: the ledger can never be erased, and the movement links the event.
    for kind in policy.transitions():
        devices_transition(
            actor=actor, event=event, at=now, kind=kind, note=NOTES.get(kind, ""),
            devices=[line.device for line in lines if policy.transition_of(line, today) == kind],
        )
    EventLine.objects.filter(event=event).update(committed=True)
    event_line_summary_add(event=event)  # the reports' summary, same transaction
    if policy.reverses_sale:
        EventLine.objects.filter(pk__in=[sales[line.device_id].pk for line in lines]).update(
            returned_by=event
        )
    bulk_insert(COMMISSION_EFFECTS[policy.commission](event, lines, now))
    commission_summary_add(event=event)  # the dashboard's summary, same transaction

    kind = DOCUMENTS[policy.document]
    document = document_issue(kind.model, event=event, lines=lines, at=now,
                              doc_type=kind.doc_type)
    document_store_after_commit(document)  # rendered and stored once this transaction commits
    set_status(event, policy.next_status)
    event.submitted_at = now
    event.submitted_by = actor
    event.signature_name = signature_name
    event.save(update_fields=["status", "submitted_at", "submitted_by", "signature_name"])
    setattr(event, kind.related_name, document)
    emit(kind=OutboxKind.EVENT_SUBMITTED, organization_id=event.organization_id,
         payload={"id": event.pk})  # webhooks, after commit (core.outbox)
    emit(kind=OutboxKind(f"{kind.related_name}.issued"), organization_id=event.organization_id,
         payload={"id": document.pk})
    # A Case using facility stock or a Return may take the facility below a par level.
    stock_low_emit(organization_id=event.organization_id, before=stock_before,
                   devices=devices.values(), today=today, cause={"event": event.pk})
    return event
