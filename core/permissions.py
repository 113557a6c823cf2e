"""Tenancy checks every service uses (it knows users only by their attributes).

``ensure_same_organization`` keeps each organisation's data apart, and raises what views show to
a person. Who may do what is ``accounts.permissions`` (it names roles, which core can't import).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError


def ensure_same_organization(actor, *objects) -> None:
    """Nothing crosses organisations: every object must belong to the actor's organisation."""
    if actor.organization_id is None:
        raise PermissionDenied("Your account belongs to no organisation.")
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", None) != actor.organization_id:
            raise ValidationError(f"{obj} is not part of your organisation.", code="tenant")
