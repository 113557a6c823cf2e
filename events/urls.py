from django.urls import include, path

from accounts.views import coming_soon

app_name = "events"
urlpatterns = [
    path("", coming_soon("Events"), name="list"),
    # Billing pages live in events/billing_urls.py (same "events" namespace).
    path("", include("events.billing_urls")),
]
