from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.index, name="index"),
    path("sales/", views.sales_report, name="sales"),
    path("swap/", views.swap_create, name="swap_create"),
    path("swap/<int:pk>/", views.swap_detail, name="swap_detail"),
    path("usage/", views.usage_report, name="usage"),
    path("replenishment/", views.replenishment, name="replenishment"),
    path("replenishment/stocking-order/", views.replenishment_create,
         name="replenishment_create"),
    path("commissions/plans/", views.commission_plans, name="commission_plans"),
    path("commissions/plans/<int:pk>/", views.commission_plan_edit, name="commission_plan_edit"),
    path("commissions/plans/<int:pk>/delete/", views.commission_plan_delete,
         name="commission_plan_delete"),
    path("commissions/statement/", views.commission_statement, name="commission_statement"),
    path("commissions/statement/mark-paid/", views.commission_mark_paid,
         name="commission_mark_paid"),
]
