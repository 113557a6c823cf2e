"""Webhooks: signed (Standard Webhooks), sent after commit, retried, logged, disabled after
repeated failure, and never sent inside the network unless a setting allows it."""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api.models import WebhookAttempt, WebhookDelivery
from api.services import webhook_delivery_send_again, webhook_endpoint_create
from api.webhooks import url_problem, webhook_attempt, webhooks_due

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP server answering the queued status codes (then 200), recording requests."""

    def __init__(self, statuses):
        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks?source=fieldstock"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def retry_due():
    """What the worker does when a retry's time comes (the tests' task backend can't defer)."""
    for pk in webhooks_due(now=timezone.now() + datetime.timedelta(hours=1)):
        webhook_attempt(pk)


def test_a_signed_delivery_is_verified_and_retried_after_a_500(
        world, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with Receiver([500]) as receiver:
        endpoint = webhook_endpoint_create(actor=world.admin, url=receiver.url,
                                           kinds=["sales_order.issued"])
        event = world.event("stocking_order")
        world.add(event, world.devices(1))
        with django_capture_on_commit_callbacks(execute=True):
            world.submit(event)
        assert len(receiver.requests) == 1  # sent after commit: answered 500
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert delivery.attempts == 1 and delivery.next_attempt_at > timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            retry_due()
    assert len(receiver.requests) == 2
    verifier = Webhook(endpoint.secret)
    ids = set()
    for headers, body in receiver.requests:
        lowered = {k.lower(): v for k, v in headers.items()}
        verified = verifier.verify(body, lowered)  # raises when the signature is wrong
        assert verified["type"] == "sales_order.issued"
        assert verified["data"]["number"] == event.sales_order.number
        ids.add(lowered["webhook-id"])
    assert ids == {delivery.message_id}  # the retry is the same message
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 44).verify(body, lowered)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.attempts == 2
    assert list(WebhookAttempt.objects.order_by("at", "id").values_list(
        "status_code", "response_body")) == [(500, "boom"), (200, "ok")]


def test_nothing_is_sent_for_a_rolled_back_submission_nor_to_other_kinds(
        world, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with Receiver([]) as receiver:
        webhook_endpoint_create(actor=world.admin, url=receiver.url, kinds=["invoice.issued"])
        event = world.event("case", patient_id="")
        world.add(event, world.devices(1))
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
            world.submit(event)
        ok = world.event("stocking_order")
        world.add(ok, world.devices(1))
        with django_capture_on_commit_callbacks(execute=True):
            world.submit(ok)  # event.submitted and sales_order.issued: not asked for
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_private_and_loopback_addresses_are_refused_unless_allowed(
        world, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    for url in ["http://127.0.0.1:8000/", "http://10.1.2.3/", "http://169.254.169.254/latest",
                "http://[::1]/", "http://192.168.0.10/", "http://localhost/"]:
        assert "private or local address" in url_problem(url), url
    assert url_problem("ftp://example.com/") == "Enter a valid http(s) URL."
    with Receiver([]) as receiver:
        webhook_endpoint_create(actor=world.admin, url=receiver.url, kinds=["event.submitted"])
        event = world.event("stocking_order")
        world.add(event, world.devices(1))
        with django_capture_on_commit_callbacks(execute=True):
            world.submit(event)
    assert receiver.requests == []  # nothing reached the local server
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "resolves to 127.0.0.1, a private or local address" in attempt.error


def test_an_endpoint_failing_repeatedly_is_disabled_and_send_again_says_so(
        world, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_DISABLE_AFTER = 3
    with Receiver([500] * 10) as receiver:
        endpoint = webhook_endpoint_create(actor=world.admin, url=receiver.url,
                                           kinds=["event.submitted"])
        event = world.event("stocking_order")
        world.add(event, world.devices(1))
        with django_capture_on_commit_callbacks(execute=True):
            world.submit(event)
        for _ in range(3):
            retry_due()  # the third finds the endpoint disabled: nothing more is sent
    assert len(receiver.requests) == 3
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "disabled after 3 failed attempts in a row" in endpoint.disabled_reason
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    with pytest.raises(ValidationError, match="is disabled"):
        webhook_delivery_send_again(actor=world.admin, delivery=delivery)
    endpoint.active = True
    endpoint.save()
    with Receiver([]) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery_send_again(actor=world.admin, delivery=delivery)
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0][1])["type"] == "event.submitted"
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
