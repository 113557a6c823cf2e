from django.apps import AppConfig


class RecallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recalls"
    verbose_name = "Recalls"
