"""Raising an organisation's ``options_version`` when a row its option lists show changes
(``core.options``)."""

from __future__ import annotations

from django.db.models import F

from accounts.models import Organization

# A user saved for these fields only changes no option list (a login writes last_login).
QUIET_USER_FIELDS = frozenset({"last_login", "password"})


def options_changed(organization_id: int | None) -> None:
    """The organisation's option lists are out of date: every process reads them afresh."""
    if organization_id is not None:
        Organization.objects.filter(pk=organization_id).update(
            options_version=F("options_version") + 1)


def on_option_row_saved(sender, instance, update_fields=None, raw=False, **kwargs) -> None:
    """post_save / post_delete of a row an option list shows (a fixture load too)."""
    if update_fields is not None and frozenset(update_fields) <= QUIET_USER_FIELDS:
        return
    options_changed(getattr(instance, "organization_id", None))


def on_option_links_changed(sender, instance, action, **kwargs) -> None:
    """m2m_changed of a facility's reps, from either side."""
    if action in ("post_add", "post_remove", "post_clear"):
        options_changed(getattr(instance, "organization_id", None))
