from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self):
        from api.webhooks import webhooks_fan_out
        from core.outbox import register

        register(webhooks_fan_out)
