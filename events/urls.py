from django.urls import path

from accounts.views import coming_soon

app_name = "events"
urlpatterns = [
    path("", coming_soon("Events"), name="list"),
]
