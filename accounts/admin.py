from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.admin_base import ReadOnlyTenantAdmin, TenantAdmin
from accounts.models import Organization, PatientAccess, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(pk=request.user.organization_id)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(User)
class UserAdmin(TenantAdmin, BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Fieldstock", {"fields": ("organization", "role")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Fieldstock", {"fields": ("role",)}),
    )

    actions = ["unlock_login"]

    @admin.action(description="Unlock login (clear failed attempts)")
    def unlock_login(self, request, queryset):
        from axes.utils import reset

        usernames = list(queryset.values_list("username", flat=True))
        cleared = sum(reset(username=username) or 0 for username in usernames)
        self.message_user(
            request, f"Unlocked {len(usernames)} user(s); {cleared} failed-login record(s) cleared."
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        hidden = {"organization", "is_superuser", "user_permissions", "groups"}
        return [
            (name, {**opts, "fields": tuple(f for f in opts["fields"] if f not in hidden)})
            for name, opts in fieldsets
        ]

    def get_exclude(self, request, obj=None):
        return None


@admin.register(PatientAccess)
class PatientAccessAdmin(ReadOnlyTenantAdmin):
    list_display = ["at", "user", "patient_id", "what", "subject", "address"]
    list_filter = ["what"]
    search_fields = ["patient_id", "user__username", "subject"]
    date_hierarchy = "at"
    list_select_related = ["user"]

    def has_module_permission(self, request):
        # Only admins see who looked at patient data (managers do not).
        return request.user.is_superuser or (
            self._is_member(request) and request.user.is_admin
        )
