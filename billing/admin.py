from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_base import ReadOnlyTenantAdmin
from billing.models import CreditMemo, SalesOrder


class DocumentAdmin(ReadOnlyTenantAdmin):
    """An issued document: its PDF is linked to our own document view (which checks the
    organisation and role and logs the patient ID it prints), never to a storage URL (stored
    documents have none: ``DatabaseStorage.url`` refuses, MEDIA_URL is not served)."""

    list_display = ["number", "event", "total", "issued_at"]
    exclude = ["pdf"]
    readonly_fields = ["document"]
    pdf_view = ""

    @admin.display(description="PDF")
    def document(self, obj):
        if not obj.pdf:
            return "Not rendered yet"
        return format_html('<a href="{}">{}.pdf</a>', reverse(self.pdf_view, args=[obj.event_id]),
                           obj.number)


@admin.register(SalesOrder)
class SalesOrderAdmin(DocumentAdmin):
    pdf_view = "billing:sales_order_pdf"


@admin.register(CreditMemo)
class CreditMemoAdmin(DocumentAdmin):
    """Credit memos are issued by submitting a Return (billing.services)."""

    pdf_view = "billing:credit_memo_pdf"
