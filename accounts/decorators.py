"""Role checks for function views: anonymous users go to login, the wrong role gets 403.

Views say who may open them with ``User.Role`` members: ``@role_required(User.Role.ADMIN,
User.Role.MANAGER)``, or one of the three shorthands below.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from accounts.models import User

Role = User.Role


def role_required(*roles: Role) -> Callable:
    roles = tuple(Role(role) for role in roles)

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
    allowed = " and ".join(f"{Role(role).label.lower()}s" for role in roles)
    if user.role == Role.MANAGER and Role.MANAGER not in roles:
        return f"Managers can look at everything but change nothing; this page is for {allowed}."
    return f"This page is only for {allowed}; you are signed in as a {user.get_role_display()}."


admin_required = role_required(Role.ADMIN)
writer_required = role_required(Role.ADMIN, Role.REP)
member_required = role_required(Role.ADMIN, Role.MANAGER, Role.REP)
# Admins and managers: the whole organisation's billing, recalls and stock adjustments.
oversight_required = role_required(Role.ADMIN, Role.MANAGER)
