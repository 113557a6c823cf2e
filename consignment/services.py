"""Writes for facilities and their contacts. Keyword-only, one transaction each."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.options import options_changed
from accounts.permissions import ensure_permission
from consignment.models import Facility, FacilityContact, Region, RegionMember, Surgeon
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


@service_transaction
def region_save(*, actor: User, region: Region, facilities, members) -> Region:
    """Save ``region`` (new or changed) with exactly these facilities and members (reps and
    regional managers). A facility is in one region at most: putting it here takes it out of
    its former region. A person is in one region at most: one already in another region is
    refused with its name (take them out there first), so nobody changes region by accident."""
    ensure_permission(actor, "manage_regions")
    facilities, members = list(facilities), list(members)
    ensure_same_organization(actor, region, *facilities, *members)
    region.name = " ".join((region.name or "").split())
    if not region.name:
        raise ValidationError({"name": "Enter the region's name."})
    if Region.objects.filter(organization_id=region.organization_id, name=region.name) \
            .exclude(pk=region.pk).exists():
        raise ValidationError({"name": f"A region named {region.name} exists already."})
    wrong = [str(u) for u in members
             if u.role not in (User.Role.REP, User.Role.REGIONAL_MANAGER)]
    if wrong:
        raise ValidationError({"members": "Only reps and regional managers belong to a region: "
                                          + ", ".join(wrong) + "."})
    # Lock the people first: a concurrent save naming one of them waits here, then sees the
    # region it was put in (a message below) instead of failing on the one-region constraint.
    list(User.objects.select_for_update().filter(pk__in=[u.pk for u in members])
         .order_by("pk").values_list("pk", flat=True))
    elsewhere = (RegionMember.objects.select_for_update()
                 .filter(user__in=members).exclude(region_id=region.pk)
                 .select_related("user", "region"))
    taken = [f"{m.user} ({m.region})" for m in elsewhere]
    if taken:
        raise ValidationError({"members": "Already in another region: " + ", ".join(taken)
                                          + ". Take them out of it first."})
    region.save()
    Facility.objects.filter(region=region).exclude(pk__in=[f.pk for f in facilities]) \
        .update(region=None)
    Facility.objects.filter(pk__in=[f.pk for f in facilities]).update(region=region)
    RegionMember.objects.filter(region=region).exclude(user__in=members).delete()
    kept = set(RegionMember.objects.filter(region=region).values_list("user_id", flat=True))
    RegionMember.objects.bulk_create(
        RegionMember(organization_id=region.organization_id, region=region, user=u)
        for u in members if u.pk not in kept
    )
    # The filter bars of the region's regional managers list its facilities and reps
    # (core.options): the updates above send no signal, so their lists are read afresh.
    options_changed(region.organization_id)
    return region
