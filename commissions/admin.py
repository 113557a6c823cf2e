from django.contrib import admin

from accounts.admin_base import ReadOnlyTenantAdmin
from commissions.models import CommissionCredit, CommissionPlan


@admin.register(CommissionPlan)
class CommissionPlanAdmin(ReadOnlyTenantAdmin):
    """Plans are written by Reports → Commissions (commissions.services), which checks them."""

    list_display = ["__str__", "rep", "product_line", "rate", "stocking_share"]


@admin.register(CommissionCredit)
class CommissionCreditAdmin(ReadOnlyTenantAdmin):
    list_display = ["rep", "event", "device", "kind", "amount", "paid_at"]
    list_filter = ["kind"]
