"""Permission checks for function views: anonymous users go to login, a role without the
permission gets 403.

Views say what they need by a named permission of ``accounts.permissions.PERMISSIONS``:
``@permission_required("submit_for_billing")``. A view anyone may open (the login page) says so
with ``@public``; tests/security/test_view_permissions.py checks every URL does one or the other.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from accounts.models import User
from accounts.permissions import has_permission, roles_with

Role = User.Role


def permission_required(permission: str) -> Callable:
    roles_with(permission)  # an unknown name fails when the view module loads

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.user.organization_id is None:
                raise PermissionDenied("Your account is not part of an organisation yet.")
            if not has_permission(request.user, permission):
                raise PermissionDenied(refusal(request.user, roles_with(permission)))
            return view(request, *args, **kwargs)

        wrapper.permission = permission
        return wrapper

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view that needs no permission (it may still ask for a login itself)."""
    view.public = True
    return view


def refusal(user, roles) -> str:
    """Why ``user`` may not open a page for ``roles``, in words a person understands."""
    allowed = " and ".join(f"{role.label.lower()}s" for role in Role if role in roles)
    if user.role == Role.MANAGER and Role.MANAGER not in roles:
        return f"Managers can look at everything but change nothing; this page is for {allowed}."
    if user.role == Role.REGIONAL_MANAGER and Role.REGIONAL_MANAGER not in roles:
        return (f"Regional managers can look at their region but change nothing; this page is "
                f"for {allowed}.")
    return f"This page is only for {allowed}; you are signed in as a {user.get_role_display()}."
