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
            if request.user.organization_id is None or request.user.role not in roles:
                raise PermissionDenied("Your role may not do this.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = role_required("admin")
writer_required = role_required("admin", "rep")
member_required = role_required("admin", "manager", "rep")
