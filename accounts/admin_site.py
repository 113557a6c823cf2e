"""The Django admin, open to the same people in every organisation: superusers, and the active
admins and managers of an organisation (managers only read). ``is_staff`` plays no part, so an
organisation admin created in the app or the admin gets the same access as one from seed_demo."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from accounts.admin_base import SafeAdminMixin


def may_use_admin(user) -> bool:
    if not user.is_active:
        return False
    return user.is_superuser or (
        user.organization_id is not None and user.is_admin_or_manager
    )


class FieldstockAdminAuthenticationForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class FieldstockAdminSite(admin.AdminSite):
    site_header = "Fieldstock administration"
    site_title = "Fieldstock admin"
    login_form = FieldstockAdminAuthenticationForm

    def has_permission(self, request):
        return may_use_admin(request.user)

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every admin, ours or a library's (auth groups, django-axes, django-tasks-db), gets
        ``SafeAdminMixin``: no patient-ID lookups, at most ADMIN_SEARCH_MAX_TERMS search words;
        a library's "contains" search fields become prefix matches."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SafeAdminMixin):
            fields = [f if f[:1] in "^=@" else f"^{f}" for f in admin_class.search_fields or ()]
            admin_class = type(admin_class.__name__, (SafeAdminMixin, admin_class),
                               {"search_fields": fields, "__module__": admin_class.__module__})
        return super().register(model_or_iterable, admin_class, **options)
