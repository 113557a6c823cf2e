from django.contrib import admin

from accounts.admin_base import ReadOnlyTenantAdmin
from events.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyTenantAdmin):
    list_display = ["name", "event_type", "date", "facility", "representative", "status"]
    list_filter = ["event_type", "status"]
    search_fields = ["^name", "^surgeon"]
    # Patient IDs are shown only by the app's pages, which record who saw them.
    exclude = ["patient_id"]
