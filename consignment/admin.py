from django.contrib import admin

from accounts.admin_base import ReadOnlyTenantAdmin, TenantAdmin
from consignment.models import Facility, FacilityContact, ParLevel


@admin.register(Facility)
class FacilityAdmin(TenantAdmin):
    list_display = ["name", "account_number", "payment_terms_days"]
    search_fields = ["^name", "=account_number"]
    filter_horizontal = ["reps"]


@admin.register(FacilityContact)
class FacilityContactAdmin(ReadOnlyTenantAdmin):
    """Contacts are added through consignment.services.facility_contact_create ("Add New")."""

    list_display = ["name", "title", "facility", "email", "phone"]
    list_filter = ["facility"]
    search_fields = ["^name", "=email"]


@admin.register(ParLevel)
class ParLevelAdmin(TenantAdmin):
    list_display = ["facility", "product", "minimum"]
    list_filter = ["facility"]
    list_select_related = ["facility", "product"]
