from django.urls import path

from inventory import kit_views, views

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
    path("transfers/<int:pk>/take-back/", views.transfer_take_back, name="transfer_take_back"),
    path("adjustments/", views.adjustment_list, name="adjustment_list"),
    path("adjustments/new/", views.adjustment_create, name="adjustment_create"),
    path("adjustments/<int:pk>/", views.adjustment_detail, name="adjustment_detail"),
    path("receiving/", views.receiving, name="receiving"),
    path("receiving/scan/", views.receiving_scan, name="receiving_scan"),
    path("receiving/import/", views.receiving_import, name="receiving_import"),
    path("receiving/import/template.csv", views.receiving_import_template,
         name="receiving_import_template"),
    path("recall/", views.recall_trace, name="recall_trace"),
    path("recall/export.csv", views.recall_export, name="recall_export"),
    # Kits (inventory/kit_views.py)
    path("kits/", kit_views.kit_list, name="kit_list"),
    path("kits/new/", kit_views.kit_create, name="kit_create"),
    path("kits/<int:pk>/", kit_views.kit_detail, name="kit_detail"),
    path("kits/<int:pk>/edit/", kit_views.kit_edit, name="kit_edit"),
    path("kits/<int:pk>/pack/", kit_views.kit_pack, name="kit_pack"),
    path("kits/<int:pk>/units/<int:device_pk>/out/", kit_views.kit_unpack, name="kit_unpack"),
    path("kits/<int:pk>/transfer/", kit_views.kit_transfer, name="kit_transfer"),
    path("kits/<int:pk>/replenish/", kit_views.kit_replenish, name="kit_replenish"),
    path("kits/<int:pk>/label.pdf", kit_views.kit_label, name="kit_label"),
    path("kits/templates/new/", kit_views.kit_template_create, name="kit_template_create"),
    path("kits/templates/<int:pk>/", kit_views.kit_template_detail, name="kit_template_detail"),
]
