from django.urls import path

from accounts.views import coming_soon

app_name = "reporting"
urlpatterns = [
    path("", coming_soon("Reports"), name="index"),
]
