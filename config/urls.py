from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("events/", include("events.urls")),
    path("inventory/", include("inventory.urls")),
    path("facilities/", include("consignment.urls")),
    path("reports/", include("reporting.urls")),
    path("admin/", admin.site.urls),
]
