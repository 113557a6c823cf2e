from django.contrib.auth import views as auth_views

from accounts.forms import LoginForm
from accounts.lockout import login_standing


class LoginView(auth_views.LoginView):
    """The login page; after a wrong password it says how many tries are left before the lock."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        username = (form.data.get("username") or "").strip()
        standing = login_standing(self.request, username) if username else None
        return self.render_to_response(self.get_context_data(
            form=form, lockout_warning=standing.warning if standing else ""))
