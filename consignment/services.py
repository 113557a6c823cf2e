"""Writes for facilities and their contacts. Keyword-only, one transaction each."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.permissions import ensure_permission
from consignment.models import Facility, FacilityContact, Surgeon
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


@service_transaction
def surgeon_create(*, actor: User, facility: Facility, name: str) -> Surgeon:
    """A surgeon in the organisation's directory, operating at ``facility`` ("Add New" on
    Schedule a case). A surgeon already in the directory under that name is added to the
    facility instead of being entered twice."""
    ensure_permission(actor, "manage_directories")
    ensure_same_organization(actor, facility)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Enter the surgeon's name."})
    if len(name) > 200:
        raise ValidationError({"name": "Shorten the name to 200 characters."})
    surgeon, _ = Surgeon.objects.get_or_create(
        organization_id=facility.organization_id, name=name
    )
    surgeon.facilities.add(facility)
    return surgeon
