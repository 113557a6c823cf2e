"""Billing screens (sales orders, purchase orders, invoices, billing queue)."""

from django.urls import path

from accounts.views import coming_soon

urlpatterns = [
    path(
        "billing/", coming_soon("Billing queue", roles=("admin", "manager")), name="billing_queue"
    ),
]
