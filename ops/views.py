"""Health and metrics endpoints: plain JSON (or Prometheus text), no session, no page.

/healthz  the process answers (no database): for a load balancer's liveness check.
/readyz   the primary answers, the worker keeps up, the replica's state: 200 ready, 503 not.
/metrics  Prometheus text; with METRICS_TOKEN set only for "Authorization: Bearer <token>",
          without it only for a client on this machine that came through no proxy.
"""

from __future__ import annotations

import hmac
import sys

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts.decorators import public
from ops.context import current_request_id
from ops.health import readiness
from ops.metrics import exposition

LOOPBACK = {"127.0.0.1", "::1"}


@public
@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@public
@never_cache
@require_safe
def readyz(request):
    ready, checks = readiness()
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    # No token: this machine only, and not through nginx (which adds X-Forwarded-For).
    return (
        request.META.get("REMOTE_ADDR") in LOOPBACK and "HTTP_X_FORWARDED_FOR" not in request.META
    )


@public
@never_cache
@require_safe
def metrics(request):
    if not metrics_allowed(request):
        return HttpResponse(
            "Metrics need the METRICS_TOKEN bearer token.\n", status=403, content_type="text/plain"
        )
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


def server_error(request, *args, **kwargs):
    """handler500: a database that does not answer (restarting, failing over, out of
    connections) is a 503 "try again" page with Retry-After; anything else Django's 500 page.
    Called inside Django's exception handler, so the exception is at hand."""
    from django.db import InterfaceError, OperationalError
    from django.template import loader
    from django.views import defaults

    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        body = loader.get_template("503.html").render({"request_id": current_request_id()})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "5"
        return response
    return defaults.server_error(request, *args, **kwargs)
