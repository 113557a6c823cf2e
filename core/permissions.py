"""Tenancy and role checks every service uses (it knows users only by their attributes).

``ensure_same_organization`` keeps each organisation's data apart; ``ensure_role`` refuses an
action to a role that may not take it. Both raise what views show to a person.
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


def ensure_role(actor, *roles: str, action: str) -> None:
    """Refuse ``action`` unless the (active) actor has one of ``roles``."""
    if actor.role not in roles or not actor.is_active:
        raise PermissionDenied(f"Your role ({actor.get_role_display()}) may not {action}.")
