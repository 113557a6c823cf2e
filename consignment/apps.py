from django.apps import AppConfig


class ConsignmentConfig(AppConfig):
    name = "consignment"
