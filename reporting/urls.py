from django.urls import path

from events import views as event_views
from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.index, name="index"),
    path("sales/", views.sales_report, name="sales"),
    path("swap/", event_views.swap_create, name="swap_create"),
    path("swap/<int:pk>/", views.swap_detail, name="swap_detail"),
    path("usage/", views.usage_report, name="usage"),
    path("contracts/", views.contract_report, name="contracts"),
    path("replenishment/", views.replenishment, name="replenishment"),
    path("replenishment/stocking-order/", event_views.replenishment_create,
         name="replenishment_create"),
]
