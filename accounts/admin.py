from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from accounts.admin_base import ReadOnlyTenantAdmin, SafeAdminMixin, TenantAdmin
from accounts.models import Organization, PatientAccess, User
from accounts.security import client_ip


@admin.register(Organization)
class OrganizationAdmin(SafeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "currency", "created_at"]
    search_fields = ["^name"]

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
    search_fields = ["^username", "^first_name", "^last_name", "=email"]
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
        from accounts.lockout import unlock

        usernames = list(queryset.values_list("username", flat=True))
        cleared = sum(unlock(username=username) for username in usernames)
        self.message_user(
            request, f"Unlocked {len(usernames)} user(s); {cleared} failed-login record(s) cleared."
        )

    def get_urls(self):
        return [
            path("login-locks/", self.admin_site.admin_view(self.login_locks_view),
                 name="accounts_user_login_locks"),
            *super().get_urls(),
        ]

    def login_locks_view(self, request):
        """The login locks in force: an organisation's admins see (and unlock) their own users';
        superusers every lock, addresses locked across usernames included. Managers read."""
        from accounts.lockout import current_locks, unlock

        if not self.has_view_permission(request):
            raise PermissionDenied
        own = None if request.user.is_superuser else set(
            self.get_queryset(request).values_list("username", flat=True))
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            username = request.POST.get("username") or None
            address = request.POST.get("address") or None
            if username is not None and (own is None or username in own):
                count = unlock(username=username)
                self.message_user(request, f"Unlocked {username}: {count} failed-login "
                                           "record(s) cleared.")
            elif username is None and address and own is None:
                count = unlock(address=address)
                self.message_user(request, f"Unlocked address {address}: {count} failed-login "
                                           "record(s) cleared.")
            else:
                self.message_user(request, "Nothing to unlock.", messages.WARNING)
            return redirect("admin:accounts_user_login_locks")
        context = {
            **self.admin_site.each_context(request),
            "title": "Login locks",
            "opts": self.model._meta,
            "locks": current_locks(own),
            "may_unlock": self.has_change_permission(request),
        }
        return TemplateResponse(request, "admin/accounts/login_locks.html", context)

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
    """The one admin page that shows patient IDs (admins only): its search takes a whole patient
    ID or username, never a part, and every page of it that shows IDs is itself logged."""

    list_display = ["at", "user", "patient_id", "what", "subject", "address"]
    list_filter = ["what"]
    search_fields = ["=patient_id", "=user__username"]
    date_hierarchy = "at"
    list_select_related = ["user"]
    WHAT = "admin: patient ID access log"

    def _log(self, request, rows) -> None:
        entries = [
            PatientAccess(organization_id=row.organization_id, user=request.user,
                          patient_id=row.patient_id, what=self.WHAT,
                          subject=f"access #{row.pk}"[:200],
                          path=request.get_full_path()[:500], address=client_ip(request) or "")
            for row in rows if row.patient_id
        ]
        PatientAccess.objects.bulk_create(entries)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            self._log(request, changelist.result_list)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None:
            self._log(request, [original])
        return response

    def has_module_permission(self, request):
        # Only admins see who looked at patient data (managers do not).
        return request.user.is_superuser or (
            self._is_member(request) and request.user.is_admin
        )

