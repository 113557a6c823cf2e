from django.urls import path

from contracts import views

app_name = "contracts"
urlpatterns = [
    path("", views.contract_list, name="list"),
    path("new/", views.contract_create, name="create"),
    path("<int:pk>/", views.contract_detail, name="detail"),
    path("<int:pk>/edit/", views.contract_edit, name="edit"),
    path("<int:pk>/import/", views.contract_import, name="import"),
    path(
        "<int:pk>/prices/<int:entry_pk>/delete/", views.contract_price_delete, name="price_delete"
    ),
]
