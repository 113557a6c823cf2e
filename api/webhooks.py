"""Webhooks: outbox messages become signed deliveries (Standard Webhooks), sent by the worker.

``webhooks_fan_out`` (registered with ``core.outbox``) runs after the service's transaction has
committed: one ``WebhookDelivery`` per active endpoint of the organisation that asked for the
kind, each queued as a task. ``webhook_attempt`` sends one signed POST (``webhook-id``,
``webhook-timestamp``, ``webhook-signature`` headers) and logs the response; a failure is tried
again after a growing pause (``RETRY_SCHEDULE``), and an endpoint failing
``WEBHOOK_DISABLE_AFTER`` attempts in a row is disabled.

An endpoint may not reach inside the network: its host must resolve only to public addresses
(no loopback, private, link-local, multicast or reserved ones) unless
``settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` is on, and the connection goes to the address that
was checked (no second DNS answer), never following redirects.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.tasks.exceptions import InvalidTask
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Pause before attempt 2, 3, …; after the last, the delivery has failed ("Send again" remains).
RETRY_SCHEDULE = [
    datetime.timedelta(seconds=s) for s in (10, 60, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
]
TIMEOUT_SECONDS = 10
RESPONSE_KEEP_CHARS = 2000


def url_problem(url: str, *, resolve: bool = True) -> str | None:
    """Why ``url`` may not receive webhooks, or None. ``resolve`` checks its addresses too."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid http(s) URL."
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "Enter a valid http(s) URL."
    if parts.username or parts.password:
        return "Put no user name or password in the URL; deliveries are signed instead."
    if not resolve or getattr(settings, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False):
        return None
    try:
        addresses = _addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except OSError:
        return f"{parts.hostname} does not resolve."
    for address in addresses:
        if not ipaddress.ip_address(address).is_global:
            return (f"{parts.hostname} resolves to {address}, a private or local address: "
                    "webhooks go only to public addresses.")
    return None


def _addresses(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST to the checked address of ``url``; (status, start of the body). Raises OSError or
    ValueError (refused address) when nothing was answered."""
    problem = url_problem(url)
    if problem:
        raise ValueError(problem)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _addresses(parts.hostname, port)[0]
    cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = cls(parts.hostname, port, address=address, timeout=TIMEOUT_SECONDS)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(RESPONSE_KEEP_CHARS * 4).decode("utf-8", "replace")
        return response.status, text[:RESPONSE_KEEP_CHARS]
    finally:
        connection.close()


def webhooks_fan_out(message) -> list[WebhookDelivery]:
    """One delivery per endpoint that asked for ``message.kind`` (an ``OutboxMessage``)."""
    from api.payloads import payload_for

    endpoints = [
        endpoint for endpoint in WebhookEndpoint.objects.filter(
            organization_id=message.organization_id, active=True)
        if message.kind in endpoint.kinds
    ]
    if not endpoints:
        return []
    body = {
        "type": message.kind,
        "timestamp": message.created_at.isoformat(),
        "data": payload_for(message.kind, message.organization_id, message.payload),
    }
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(
            organization_id=message.organization_id, endpoint=endpoint,
            message_id=f"msg_{uuid.uuid4().hex}", kind=message.kind,
            payload=json.loads(json.dumps(body, cls=DjangoJSONEncoder)), next_attempt_at=now,
        ) for endpoint in endpoints
    ])
    from api.tasks import webhook_deliver

    for delivery in deliveries:
        pk = delivery.pk
        transaction.on_commit(lambda pk=pk: webhook_deliver.enqueue(pk), robust=True)
    return deliveries


def _schedule_retry(delivery: WebhookDelivery) -> None:
    """Queue the next attempt for ``next_attempt_at``. A task backend that cannot defer (the
    tests' immediate one) leaves it to ``manage.py webhooks_retry``."""
    from api.tasks import webhook_deliver

    pk, when = delivery.pk, delivery.next_attempt_at

    def enqueue():
        with contextlib.suppress(InvalidTask):
            webhook_deliver.using(run_after=when).enqueue(pk)

    transaction.on_commit(enqueue, robust=True)


def webhook_attempt(delivery_id: int, *, now: datetime.datetime | None = None) -> WebhookDelivery:
    """Send one pending delivery once and log what came back.

    No transaction is open while the endpoint answers (up to ``TIMEOUT_SECONDS``): the outcome
    is recorded afterwards, under the delivery's and the endpoint's row locks. Deliveries are
    at least once: a receiver deduplicates by ``webhook-id``."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    if not delivery.endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
        delivery.refresh_from_db()
        return delivery
    now = now or timezone.now()
    body = json.dumps(delivery.payload, separators=(",", ":"))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fieldstock-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(delivery.endpoint.secret).sign(
            delivery.message_id, now, body),
    }
    status_code, text, error = None, "", ""
    try:
        status_code, text = _post(delivery.endpoint.url, body.encode(), headers)
    except ValueError as refused:
        error = str(refused)
    except (OSError, http.client.HTTPException) as failed:
        error = f"{type(failed).__name__}: {failed}"[:500]
    with transaction.atomic():
        _record(delivery.pk, at=now, status_code=status_code, text=text, error=error)
    return WebhookDelivery.objects.get(pk=delivery.pk)


def _record(delivery_id: int, *, at, status_code, text: str, error: str) -> None:
    """The attempt's outcome: log it, then succeed, schedule a retry, fail, or disable."""
    delivery = WebhookDelivery.objects.select_for_update(of=("self",), no_key=True).get(
        pk=delivery_id)
    endpoint = WebhookEndpoint.objects.select_for_update(of=("self",), no_key=True).get(
        pk=delivery.endpoint_id)
    WebhookAttempt.objects.create(delivery=delivery, at=at, status_code=status_code,
                                  response_body=text, error=error)
    delivery.attempts += 1
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = at
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
    else:
        endpoint.consecutive_failures += 1
        if delivery.attempts <= len(RETRY_SCHEDULE):
            delivery.status = WebhookDelivery.Status.PENDING
            delivery.next_attempt_at = at + RETRY_SCHEDULE[delivery.attempts - 1]
        else:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        if endpoint.active and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
            endpoint.active = False
            endpoint.disabled_reason = (
                f"disabled after {endpoint.consecutive_failures} failed attempts in a row, "
                f"{at:%Y-%m-%d %H:%M} UTC")
            WebhookDelivery.objects.filter(
                endpoint=endpoint, status=WebhookDelivery.Status.PENDING
            ).update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        elif delivery.status == WebhookDelivery.Status.PENDING:
            _schedule_retry(delivery)
    endpoint.save(update_fields=["consecutive_failures", "active", "disabled_reason"])
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])


def webhooks_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Pending deliveries whose next attempt is due (``manage.py webhooks_retry``)."""
    now = now or timezone.now()
    return list(WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id").values_list("pk", flat=True))
