from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts.middleware import session_mark_login

        user_logged_in.connect(
            lambda sender, request, user, **kwargs: session_mark_login(request),
            dispatch_uid="accounts.session_mark_login", weak=False,
        )


class FieldstockAdminConfig(admin_apps.AdminConfig):
    """The admin with Fieldstock's site (who may enter: accounts.admin_site)."""

    default = False
    default_site = "accounts.admin_site.FieldstockAdminSite"
