from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"


class FieldstockAdminConfig(admin_apps.AdminConfig):
    """The admin with Fieldstock's site (who may enter: accounts.admin_site)."""

    default = False
    default_site = "accounts.admin_site.FieldstockAdminSite"
