from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm

from core.forms import BootstrapForm


class LoginForm(BootstrapForm, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong username or password. Check both and try again.",
    }


class PasswordForm(BootstrapForm, PasswordChangeForm):
    pass
