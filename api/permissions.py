"""Who may call the API: an active member of an organisation; writes need a read-write token.

Roles are not checked here: every write calls the same service as the page, and the service
checks the role (``accounts.permissions.ensure_permission``), so a manager's write is refused
with the page's message."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import ApiToken


class ApiAccess(BasePermission):
    message = "Sign in or send an API token."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.organization_id):
            return False
        if request.method in SAFE_METHODS:
            return True
        if isinstance(request.auth, ApiToken) and request.auth.scope != ApiToken.Scope.WRITE:
            self.message = "This API token is read-only; create a read-write token to change data."
            return False
        return True
