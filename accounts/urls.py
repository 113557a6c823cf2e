from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.decorators import public
from accounts.forms import PasswordForm
from accounts.views import LoginView

urlpatterns = [
    path("login/", public(LoginView.as_view()), name="login"),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    # Any signed-in user changes their own password (Django's views ask for the login).
    path("password/", public(auth_views.PasswordChangeView.as_view(form_class=PasswordForm)),
         name="password_change"),
    path(
        "password/done/", public(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
]
