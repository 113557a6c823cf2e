from django.urls import path

from accounts.views import coming_soon

app_name = "inventory"
urlpatterns = [
    path("", coming_soon("All Inventory"), name="device_list"),
    path("transfers/", coming_soon("Transfers"), name="transfer_list"),
    path("adjustments/", coming_soon("Stock Adjustments"), name="adjustment_list"),
    path("receiving/", coming_soon("Receiving", roles=("admin",)), name="receiving"),
]
