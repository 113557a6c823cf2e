"""Security helpers shared by every app: client address, safe redirects, patient-ID access log."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the connection's, or, behind ``TRUSTED_PROXY_COUNT`` proxies, the
    address the outermost trusted proxy saw (counted from the right of X-Forwarded-For, so a
    client cannot choose it by sending its own header)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def safe_next(request: HttpRequest, fallback: str) -> str:
    """``next`` from the POST or query string when it is a path on our own host, else
    ``fallback``. Only an absolute path is taken: ``redirect()`` would read a bare word as a view
    name to reverse (and fail), and our pages only ever send ``request.get_full_path()``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def patient_access_record(
    request: HttpRequest, *, patient_ids, what: str, subject: str = ""
) -> None:
    """Record that ``request.user`` saw or exported these patient IDs (empty ones are skipped)."""
    from accounts.models import PatientAccess

    user = request.user
    rows = [
        PatientAccess(
            organization_id=user.organization_id,
            user=user,
            patient_id=patient_id[:64],
            what=what,
            subject=subject[:200],
            path=request.get_full_path()[:500],
            address=client_ip(request) or "",
        )
        for patient_id in dict.fromkeys(pid for pid in patient_ids if pid)
    ]
    if rows:
        PatientAccess.objects.bulk_create(rows)
