"""Commission screens, mounted under /reports/commissions/ (config/urls.py)."""

from django.urls import path

from commissions import views

app_name = "commissions"
urlpatterns = [
    path("plans/", views.commission_plans, name="plans"),
    path("plans/<int:pk>/", views.commission_plan_edit, name="plan_edit"),
    path("plans/<int:pk>/delete/", views.commission_plan_delete, name="plan_delete"),
    path("statement/", views.commission_statement, name="statement"),
    path("statement/mark-paid/", views.commission_mark_paid, name="mark_paid"),
]
