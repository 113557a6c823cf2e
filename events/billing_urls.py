"""Billing screens (sales orders, purchase orders, invoices, billing queue)."""

from django.urls import path

from events import billing_views as views

urlpatterns = [
    path("billing/", views.billing_queue, name="billing_queue"),
    path("billing/export.csv", views.billing_export, name="billing_export"),
    path("<int:pk>/billing/sales-order.pdf", views.billing_sales_order_pdf,
         name="billing_sales_order_pdf"),
    path("<int:pk>/billing/purchase-order/", views.billing_po_record, name="billing_po_record"),
    path("<int:pk>/billing/purchase-order.pdf", views.billing_po_pdf, name="billing_po_pdf"),
    path("<int:pk>/billing/invoice/", views.billing_invoice_issue, name="billing_invoice_issue"),
    path("<int:pk>/billing/invoice.pdf", views.billing_invoice_pdf, name="billing_invoice_pdf"),
    path("<int:pk>/billing/credit-memo.pdf", views.billing_credit_memo_pdf,
         name="billing_credit_memo_pdf"),
    path("<int:pk>/billing/paid/", views.billing_mark_paid, name="billing_mark_paid"),
]
