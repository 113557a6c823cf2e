"""Role checks for function views: anonymous users go to login, the wrong role gets 403."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def role_required(*roles: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.user.organization_id is None:
                raise PermissionDenied("Your account is not part of an organisation yet.")
            if request.user.role not in roles:
                raise PermissionDenied(refusal(request.user, roles))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def refusal(user, roles) -> str:
    """Why ``user`` may not open a page for ``roles``, in words a person understands."""
    names = {"admin": "admins", "manager": "managers", "rep": "reps"}
    allowed = " and ".join(names[role] for role in roles)
    if user.role == "manager" and "manager" not in roles:
        return f"Managers can look at everything but change nothing; this page is for {allowed}."
    return f"This page is only for {allowed}; you are signed in as a {user.get_role_display()}."


admin_required = role_required("admin")
writer_required = role_required("admin", "rep")
member_required = role_required("admin", "manager", "rep")
