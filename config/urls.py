from django.contrib import admin
from django.urls import include, path

from reporting import views as reporting_views

urlpatterns = [
    path("", reporting_views.home, name="home"),  # what needs attention, per role
    path("accounts/", include("accounts.urls")),
    path("events/", include("events.urls")),
    path("events/", include("billing.urls")),  # Submit For Billing, documents, the queue
    path("inventory/", include("inventory.urls")),
    path("facilities/", include("consignment.urls")),
    path("recalls/", include("recalls.urls")),
    path("contracts/", include("contracts.urls")),
    path("reports/commissions/", include("commissions.urls")),
    path("reports/", include("reporting.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
    path("", include("ops.urls")),  # /healthz, /readyz, /metrics
]

# A database that does not answer gets the 503 "try again" page, anything else the 500 page.
handler500 = "ops.views.server_error"
