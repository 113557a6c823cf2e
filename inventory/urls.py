from django.urls import path

from inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.device_list, name="device_list"),
    path("export.csv", views.device_export, name="device_export"),
    path("devices/<int:pk>/", views.device_detail, name="device_detail"),
    path("devices/search/", views.device_search, name="device_search"),
    path("devices/by-label/", views.devices_by_label, name="devices_by_label"),
    path("transfers/", views.transfer_list, name="transfer_list"),
    path("transfers/new/", views.transfer_create, name="transfer_create"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer_detail"),
    path("transfers/<int:pk>/accept/", views.transfer_accept, name="transfer_accept"),
    path("transfers/<int:pk>/decline/", views.transfer_decline, name="transfer_decline"),
    path("adjustments/", views.adjustment_list, name="adjustment_list"),
    path("adjustments/new/", views.adjustment_create, name="adjustment_create"),
    path("adjustments/<int:pk>/", views.adjustment_detail, name="adjustment_detail"),
    path("receiving/", views.receiving, name="receiving"),
    path("receiving/scan/", views.receiving_scan, name="receiving_scan"),
    path("receiving/import/", views.receiving_import, name="receiving_import"),
    path("recall/", views.recall_trace, name="recall_trace"),
    path("recall/export.csv", views.recall_export, name="recall_export"),
]
