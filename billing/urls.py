"""Billing screens: Submit For Billing, sales orders, purchase orders, invoices, credit memos and
the billing queue. Mounted under /events/ (config/urls.py), next to the event pages."""

from django.urls import path

from billing import ageing_views, views

app_name = "billing"
urlpatterns = [
    path("<int:pk>/submit/", views.event_submit, name="submit"),
    path("billing/", views.billing_queue, name="queue"),
    path("billing/export.csv", views.billing_export, name="export"),
    path("billing/pending-po/", ageing_views.pending_po, name="pending_po"),
    path("billing/pending-po.csv", ageing_views.pending_po_export, name="pending_po_export"),
    path("<int:pk>/billing/sales-order.pdf", views.billing_sales_order_pdf,
         name="sales_order_pdf"),
    path("<int:pk>/billing/purchase-order/", views.billing_po_record, name="po_record"),
    path("<int:pk>/billing/purchase-order/correct/", views.billing_po_correct,
         name="po_correct"),
    path("<int:pk>/billing/purchase-order.pdf", views.billing_po_pdf, name="po_pdf"),
    path("<int:pk>/billing/invoice/", views.billing_invoice_issue, name="invoice_issue"),
    path("<int:pk>/billing/invoice.pdf", views.billing_invoice_pdf, name="invoice_pdf"),
    path("<int:pk>/billing/credit-memo.pdf", views.billing_credit_memo_pdf,
         name="credit_memo_pdf"),
    path("<int:pk>/billing/paid/", views.billing_mark_paid, name="mark_paid"),
]
