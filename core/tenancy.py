"""Tenant scoping: every queryset a view uses goes through ``for_user``.

Each tenant model carries an ``organization`` foreign key and uses ``TenantQuerySet`` (or a
subclass that narrows further, e.g. a rep sees only their own events).
"""

from __future__ import annotations

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization_id: int | None):
        if organization_id is None:
            return self.none()
        return self.filter(organization_id=organization_id)

    def for_user(self, user):
        """Rows of the user's organisation; nothing for anonymous or org-less users."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.for_organization(user.organization_id)


TenantManager = models.Manager.from_queryset(TenantQuerySet)
