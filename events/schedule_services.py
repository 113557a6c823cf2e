"""Scheduled cases: a Case created ahead for a date and time, with its surgeon and procedure
from the organisation's directories; the procedure directory; the agenda's iCalendar feed secret.

A scheduled case is an ordinary draft Case (``events.services.event_create``) with a time, a
surgeon and a procedure: devices are marked on it as on any case, and billing's Submit For
Billing refuses it before its day. Keyword-only functions, one transaction each.
"""

from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from consignment.models import Facility, FacilityContact, Surgeon
from core.db import service_transaction
from core.permissions import ensure_same_organization
from events.models import CalendarFeed, Event, EventType, Procedure
from events.schedule_selectors import feed_token_hash
from events.services import event_create
from inventory.models import Manufacturer, ProductLine


@service_transaction
def procedure_create(*, actor: User, name: str) -> Procedure:
    """A procedure in the organisation's directory ("Add New" on Schedule a case); a name already
    there is returned, not entered twice."""
    ensure_permission(actor, "manage_directories")
    if actor.organization_id is None:
        raise ValidationError("Your account is not part of an organisation yet.")
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Enter the procedure's name."})
    if len(name) > 200:
        raise ValidationError({"name": "Shorten the name to 200 characters."})
    procedure, _ = Procedure.objects.get_or_create(organization_id=actor.organization_id, name=name)
    return procedure


@service_transaction
def case_schedule(
    *,
    actor: User,
    name: str,
    scheduled_at: datetime.datetime,
    facility: Facility,
    representative: User,
    manufacturer: Manufacturer,
    product_line: ProductLine,
    physician: Surgeon | None = None,
    procedure: Procedure | None = None,
    facility_contact: FacilityContact | None = None,
    now: datetime.datetime | None = None,
) -> Event:
    """A draft Case for a day and time ahead (today's later hours included).

    The event's ``date`` is the local day of ``scheduled_at``; ``surgeon`` keeps the directory
    surgeon's name, so reports and older screens read it as before.
    """
    ensure_permission(actor, "create_events")
    ensure_same_organization(actor, physician, procedure)
    now = now or timezone.now()
    if timezone.is_naive(scheduled_at):
        raise ValidationError({"scheduled_at": "Give the case's time with its time zone."})
    errors = {}
    day = timezone.localtime(scheduled_at).date()
    if day < timezone.localdate(now):
        errors["scheduled_at"] = (
            f"{day:%d %b %Y} is in the past: schedule the case for today or later, or record "
            "a past case with Create Event."
        )
    if physician is not None and not physician.facilities.filter(pk=facility.pk).exists():
        errors["physician"] = f"{physician} is not in the directory of {facility}."
    if errors:
        raise ValidationError(errors)
    event = event_create(
        actor=actor,
        event_type=EventType.CASE,
        name=name,
        date=day,
        facility=facility,
        representative=representative,
        manufacturer=manufacturer,
        product_line=product_line,
        facility_contact=facility_contact,
        surgeon=physician.name if physician else "",
    )
    event.scheduled_at = scheduled_at
    event.physician = physician
    event.procedure = procedure
    event.save(update_fields=["scheduled_at", "physician", "procedure"])
    return event


@service_transaction
def calendar_feed_reset(*, actor: User) -> str:
    """A new secret for the actor's iCalendar feed; the old URL stops working at once.

    Returns the secret: it is shown once, only its hash is stored.
    """
    ensure_permission(actor, "view_events")
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        user=actor,
        defaults={"token_hash": feed_token_hash(token), "created_at": timezone.now()},
    )
    return token
