from django.urls import path

from consignment import views

app_name = "consignment"
urlpatterns = [
    path("", views.facility_list, name="facility_list"),
    path("<int:pk>/", views.facility_detail, name="facility_detail"),
]
