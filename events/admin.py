from django.contrib import admin

from accounts.admin_base import ReadOnlyTenantAdmin, TenantAdmin
from events.models import CommissionCredit, CommissionPlan, Event, SalesOrder


@admin.register(Event)
class EventAdmin(ReadOnlyTenantAdmin):
    list_display = ["name", "event_type", "date", "facility", "representative", "status"]
    list_filter = ["event_type", "status"]
    search_fields = ["name", "patient_id", "surgeon"]


@admin.register(SalesOrder)
class SalesOrderAdmin(ReadOnlyTenantAdmin):
    list_display = ["number", "event", "total", "issued_at"]


@admin.register(CommissionPlan)
class CommissionPlanAdmin(TenantAdmin):
    list_display = ["__str__", "rep", "product_line", "rate", "stocking_share"]


@admin.register(CommissionCredit)
class CommissionCreditAdmin(ReadOnlyTenantAdmin):
    list_display = ["rep", "event", "device", "kind", "amount", "paid_at"]
    list_filter = ["kind"]
