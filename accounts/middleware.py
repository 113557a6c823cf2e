"""Headers every response carries."""

import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from core.options import reset_reader, set_reader


class SecurityHeadersMiddleware:
    """``Permissions-Policy`` on every response; ``Cache-Control: no-store`` on every response
    to a signed-in user (pages, PDFs and CSVs may carry patient IDs and prices)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


# C0 control characters and DEL, except tab, line breaks and the separators scanners send in raw
# GS1 / ISO 15434 labels (EOT \x04, GS \x1d, RS \x1e).
FORBIDDEN_CONTROL = re.compile(r"[\x00-\x03\x05-\x08\x0b\x0c\x0e-\x1c\x1f\x7f]")


def has_forbidden_control(text: str) -> bool:
    return FORBIDDEN_CONTROL.search(text) is not None


# The REST API's URLs (api/urls.py): a refusal there answers in the API's JSON error shape
# (api/exceptions.py: ``{"detail": ..., "errors": [...]}``), not the HTML page. The token pages
# under /api/tokens/ are pages and keep the HTML answer.
API_PATH_PREFIX = "/api/v1/"
INPUT_REFUSED = ("Your input was refused: it contains a NUL byte or another control character "
                 "that Fieldstock does not accept. Nothing was changed.")


class HostileInputMiddleware:
    """Refuse, with a message, any query string or form value carrying a NUL byte or another
    control character: no view ever sees them, so none can reach the database (PostgreSQL
    refuses NUL in text: a 500). Long text is no such case: PostgreSQL takes a 50 kB search."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            data = [request.GET]
            if request.method == "POST":
                data.append(request.POST)
            bad = any(
                has_forbidden_control(key)
                or any(has_forbidden_control(v) for v in values)
                for query in data
                for key, values in query.lists()
            )
        except (UnicodeDecodeError, ValueError):  # undecodable form data
            bad = True
        if bad:
            if request.path.startswith(API_PATH_PREFIX):
                return JsonResponse({"detail": INPUT_REFUSED, "errors": [INPUT_REFUSED]},
                                    status=400)
            return render(request, "partials/input_refused.html", status=400)
        return self.get_response(request)


class RequestSizeLimitMiddleware:
    """Refuse, with 413 and before anything reads it, a request whose declared body is larger
    than ``REQUEST_MAX_BYTES`` (12 MB, as nginx's ``client_max_body_size``): gunicorn has no body
    limit of its own, and Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count uploaded files.
    (A body without Content-Length, chunked, is not read by Django at all.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            response = HttpResponse(
                f"Request refused: its body ({length:,} bytes) is larger than the "
                f"{settings.REQUEST_MAX_BYTES:,} bytes Fieldstock accepts. Nothing was changed.",
                status=413, content_type="text/plain; charset=utf-8",
            )
            response["Connection"] = "close"  # the unread body is not read to keep the connection
            return response
        return self.get_response(request)


LAST_SEEN = "fieldstock_last_seen"
# When the session's user logged in (seconds since the epoch): the session ends
# SESSION_MAX_HOURS after it, however active it is.
LOGIN_AT = "fieldstock_login_at"
# The last-seen stamp is written at most this often, so most requests write no session row.
LAST_SEEN_RESOLUTION = 60


def session_mark_seen(request) -> None:
    request.session[LAST_SEEN] = int(time.time())


def session_mark_login(request) -> None:
    """At login: the start of the session's absolute lifetime, and its first sign of life."""
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now


class SessionIdleTimeoutMiddleware:
    """Log out a session idle for more than ``SESSION_IDLE_MINUTES``, or older than
    ``SESSION_MAX_HOURS`` since its login whatever its activity (the idle stamp saves the
    session, which moves the cookie's own expiry, so that expiry alone is no absolute limit);
    the next request goes to the login page like any anonymous one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            login_at = request.session.get(LOGIN_AT)
            if login_at is None:
                # A session from before login times were recorded: its lifetime starts now.
                request.session[LOGIN_AT] = now
            elif now - login_at > settings.SESSION_MAX_HOURS * 3600:
                logout(request)
                messages.info(
                    request,
                    f"You were logged out: a session lasts at most {settings.SESSION_MAX_HOURS}"
                    " hours after login. Log in again.",
                )
                return self.get_response(request)
            last_seen = request.session.get(LAST_SEEN)
            if last_seen is None or now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
                if last_seen is not None:
                    logout(request)
                    messages.info(request, "You were logged out after a period of inactivity.")
                else:
                    request.session[LAST_SEEN] = now
            elif now - last_seen >= LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN] = now
        return self.get_response(request)


class OptionsReaderMiddleware:
    """After authentication: the request's user keys the option lists kept per process
    (``core.options``) by their organisation's ``options_version``. Lazy: nothing is read
    unless a page renders such a list."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_reader(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            reset_reader(token)
