"""Admins register webhook endpoints and send deliveries again in the admin; managers look but
never see the signing secret."""

from __future__ import annotations

import pytest

from api.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_an_admin_registers_an_endpoint_and_gets_a_signing_secret(client, world):
    client.force_login(world.admin)
    response = client.post("/admin/api/webhookendpoint/add/", {
        "url": "https://erp.example.com/hooks", "description": "ERP",
        "kinds": ["invoice.issued", "event.submitted"], "active": "on",
    })
    assert response.status_code == 302, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.organization == world.org
    assert endpoint.kinds == ["event.submitted", "invoice.issued"]
    assert endpoint.secret.startswith("whsec_")
    page = client.get(f"/admin/api/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret.encode() in page.content

    client.force_login(world.manager)
    page = client.get(f"/admin/api/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert endpoint.secret.encode() not in page.content


def test_a_url_with_credentials_or_another_scheme_is_refused(client, world):
    client.force_login(world.admin)
    for url, message in [("ftp://erp.example.com/", b"Enter a valid"),
                         ("https://user:pw@erp.example.com/", b"no user name or password")]:
        response = client.post("/admin/api/webhookendpoint/add/", {
            "url": url, "kinds": ["invoice.issued"], "active": "on"})
        assert response.status_code == 200
        assert message in response.content
    assert not WebhookEndpoint.objects.exists()


def test_send_again_from_the_delivery_log(client, world, settings,
                                          django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False  # the attempt is refused: no network
    endpoint = WebhookEndpoint.objects.create(
        organization=world.org, url="http://127.0.0.1:9/", kinds=["event.submitted"],
        secret="whsec_" + "A" * 44)
    delivery = WebhookDelivery.objects.create(
        organization=world.org, endpoint=endpoint, message_id="msg_1", kind="event.submitted",
        payload={"type": "event.submitted"}, status=WebhookDelivery.Status.FAILED, attempts=8)
    client.force_login(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/api/webhookdelivery/", {
            "action": "send_again", "_selected_action": [delivery.pk]}, follow=True)
    assert b"1 delivery queued again." in response.content
    delivery.refresh_from_db()
    assert delivery.attempts == 9  # attempted again (and refused: a loopback address)
    assert "private or local address" in delivery.attempt_log.get().error
    page = client.get(f"/admin/api/webhookdelivery/{delivery.pk}/change/")
    assert b"private or local address" in page.content
