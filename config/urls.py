from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("events/", include("events.urls")),
    path("events/", include("billing.urls")),  # Submit For Billing, documents, the queue
    path("inventory/", include("inventory.urls")),
    path("facilities/", include("consignment.urls")),
    path("reports/commissions/", include("commissions.urls")),
    path("reports/", include("reporting.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
    path("", include("ops.urls")),  # /healthz, /readyz, /metrics
]

# A database that does not answer gets the 503 "try again" page, anything else the 500 page.
handler500 = "ops.views.server_error"
