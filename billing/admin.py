from django.contrib import admin

from accounts.admin_base import ReadOnlyTenantAdmin
from billing.models import CreditMemo, SalesOrder


@admin.register(SalesOrder)
class SalesOrderAdmin(ReadOnlyTenantAdmin):
    list_display = ["number", "event", "total", "issued_at"]


@admin.register(CreditMemo)
class CreditMemoAdmin(ReadOnlyTenantAdmin):
    """Credit memos are issued by submitting a Return (billing.services)."""

    list_display = ["number", "event", "total", "issued_at"]
