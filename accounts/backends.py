"""The authentication backend: Django's ``ModelBackend`` (username and password, the user's
permissions), whose signed-in user is read with their organisation in one query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class OrganizationModelBackend(ModelBackend):
    """Every page reads the user's organisation (its currency, and the ``options_version`` that
    keys the option lists kept per process, ``core.options``): read with the session's user,
    one query instead of two on every signed-in request."""

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("organization").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
