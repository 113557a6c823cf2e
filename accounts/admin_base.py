"""Admin base classes: the Django admin kept inside the user's organisation, away from patient
IDs, and with searches a worker answers quickly."""

from django.conf import settings
from django.contrib import admin, messages
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404
from django.utils.text import smart_split

# Fields the admin never filters on, whatever the model or the relation that reaches them: a
# filter narrowing a list is an oracle (MRN-6…, MRN-61…) that no access log sees.
PATIENT_FIELDS = frozenset({"patient_id"})


class SafeAdminMixin:
    """For every admin of ours: no lookup on a patient ID (400), and at most
    ``ADMIN_SEARCH_MAX_TERMS`` search words (the rest ignored, with a message). Each admin's
    ``search_fields`` use prefix (``^``) or exact (``=``) matches, never "contains", on indexed
    or small tables, so one search cannot tie up a worker."""

    def lookup_allowed(self, lookup, value, request=None):
        if PATIENT_FIELDS.intersection(lookup.split(LOOKUP_SEP)):
            return False
        return super().lookup_allowed(lookup, value, request)

    def bounded_search_term(self, request, search_term: str) -> str:
        """The search with at most ``ADMIN_SEARCH_MAX_TERMS`` words (a message when cut)."""
        limit = settings.ADMIN_SEARCH_MAX_TERMS
        terms = list(smart_split(search_term))  # as Django splits it: "quoted words" stay one
        if len(terms) > limit:
            messages.warning(request, f"Searched for the first {limit} words only "
                                      f"({len(terms)} given).")
            search_term = " ".join(terms[:limit])
        return search_term

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(
            request, queryset, self.bounded_search_term(request, search_term))


class TenantAdmin(SafeAdminMixin, admin.ModelAdmin):
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
