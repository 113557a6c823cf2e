"""Writes for facilities and their contacts. Keyword-only, one transaction each."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.permissions import ensure_permission
from consignment.models import Facility, FacilityContact
from core.db import service_transaction
from core.permissions import ensure_same_organization


@service_transaction
def facility_contact_create(
    *,
    actor: User,
    facility: Facility,
    name: str,
    title: str = "",
    email: str = "",
    phone: str = "",
) -> FacilityContact:
    """A person at a facility ("Add New" on Create Event)."""
    ensure_permission(actor, "add_facility_contacts")
    ensure_same_organization(actor, facility)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter the contact's name."})
    return FacilityContact.objects.create(
        organization_id=facility.organization_id,
        facility=facility,
        name=name,
        title=(title or "").strip(),
        email=(email or "").strip(),
        phone=(phone or "").strip(),
    )
