"""Admin base class that keeps the Django admin inside the user's organisation."""

from django.contrib import admin
from django.http import Http404


class TenantAdmin(admin.ModelAdmin):
    """Lists, edits and offers choices only from the user's organisation.

    Organisation admins may change; managers may only view. Another organisation's object is a
    404, never a redirect that would confirm it exists.
    """

    tenant_field = "organization"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.tenant_field}_id": request.user.organization_id})

    def _is_member(self, request) -> bool:
        return request.user.is_active and request.user.organization_id is not None

    def has_module_permission(self, request):
        return request.user.is_superuser or (
            self._is_member(request) and request.user.is_admin_or_manager
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return request.user.is_superuser or (
            self._is_member(request) and request.user.is_admin
        )

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser:
            excluded.append(self.tenant_field)
        return excluded

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser and not change:
            setattr(obj, f"{self.tenant_field}_id", request.user.organization_id)
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        if not request.user.is_superuser and hasattr(model.objects, "for_user"):
            kwargs["queryset"] = model.objects.for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        model = db_field.related_model
        if not request.user.is_superuser and hasattr(model.objects, "for_user"):
            kwargs["queryset"] = model.objects.for_user(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404("No such object in your organisation.")


class ReadOnlyTenantAdmin(TenantAdmin):
    """For rows only the services may write (devices, the ledger, events, commission plans,
    contacts): the admin shows them and changes nothing, so it can never skip a rule."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
