from django.shortcuts import render

from accounts.decorators import member_required, role_required


@member_required
def home(request):
    return render(request, "accounts/home.html")


def coming_soon(title: str, roles: tuple[str, ...] = ("admin", "manager", "rep")):
    """A placeholder page for a screen whose issue has not landed yet."""

    @role_required(*roles)
    def view(request, *args, **kwargs):
        return render(request, "partials/coming_soon.html", {"title": title})

    view.__name__ = f"coming_soon_{title.lower().replace(' ', '_')}"
    return view
