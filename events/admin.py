from django.contrib import admin

from accounts.admin_base import ReadOnlyTenantAdmin
from events.models import CommissionCredit, CommissionPlan, Event, SalesOrder


@admin.register(Event)
class EventAdmin(ReadOnlyTenantAdmin):
    list_display = ["name", "event_type", "date", "facility", "representative", "status"]
    list_filter = ["event_type", "status"]
    search_fields = ["name", "surgeon"]
    # Patient IDs are shown only by the app's pages, which record who saw them.
    exclude = ["patient_id"]


@admin.register(SalesOrder)
class SalesOrderAdmin(ReadOnlyTenantAdmin):
    list_display = ["number", "event", "total", "issued_at"]


@admin.register(CommissionPlan)
class CommissionPlanAdmin(ReadOnlyTenantAdmin):
    """Plans are written by Reports → Commissions (events.commissions), which checks them."""

    list_display = ["__str__", "rep", "product_line", "rate", "stocking_share"]


@admin.register(CommissionCredit)
class CommissionCreditAdmin(ReadOnlyTenantAdmin):
    list_display = ["rep", "event", "device", "kind", "amount", "paid_at"]
    list_filter = ["kind"]
