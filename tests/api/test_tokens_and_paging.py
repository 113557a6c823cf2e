"""Personal tokens (hashed, shown once, expiry, scope, last use, revoke), throttling per token,
keyset pages stable under inserts, and query counts that don't grow with rows."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.cache import cache
from django.utils import timezone

from api.models import ApiToken
from api.services import api_token_create

pytestmark = pytest.mark.django_db


def test_the_tokens_page_shows_a_new_token_once_and_stores_only_its_hash(client, world):
    client.force_login(world.rep)
    page = client.post("/api/tokens/", {"name": "ERP sync", "scope": "write",
                                        "expires_in_days": 30})
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret.startswith("fs_") and secret.encode() in page.content
    token = ApiToken.objects.get()
    assert token.user == world.rep and token.scope == "write"
    assert token.key_hash == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()
    assert secret.split("_", 2)[2] not in str(ApiToken.objects.values().get())
    listed = client.get("/api/tokens/")
    assert secret.encode() not in listed.content  # never shown again
    assert b"ERP sync" in listed.content and b"never" in listed.content

    me = client.get("/api/v1/me/", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["id"] == world.rep.pk
    assert me.json()["role"] == "rep"
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at.strftime("%Y-%m-%d %H:%M").encode() in client.get(
        "/api/tokens/").content

    revoked = client.post(f"/api/tokens/{token.pk}/revoke/", follow=True)
    assert b"revoked" in revoked.content
    refused = client.get("/api/v1/me/", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Unknown, expired or revoked API token."


def test_a_token_that_expired_or_has_a_wrong_secret_is_refused(client, world):
    token, secret = api_token_create(actor=world.rep, name="t", scope="read",
                                     expires_in_days=1)
    wrong = secret[:-2] + ("aa" if not secret.endswith("aa") else "bb")
    assert client.get("/api/v1/me/", headers={"Authorization": f"Bearer {wrong}"}
                      ).status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert client.get("/api/v1/me/", headers={"Authorization": f"Bearer {secret}"}
                      ).status_code == 401


def test_a_manager_gets_read_only_tokens_and_others_tokens_cannot_be_revoked(client, world):
    client.force_login(world.manager)
    page = client.post("/api/tokens/", {"name": "BI", "scope": "write", "expires_in_days": 30})
    assert page.status_code == 400
    assert b"Managers change nothing, so their tokens are read-only." in page.content
    assert not ApiToken.objects.exists()
    token, _secret = api_token_create(actor=world.rep, name="t", scope="read",
                                      expires_in_days=1)
    client.force_login(world.rep2)
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_each_token_has_its_own_rate_limit(client, world, settings):
    settings.API_THROTTLE_RATE = "3/min"
    cache.clear()
    first = api_token_create(actor=world.rep, name="a", scope="read", expires_in_days=1)[1]
    second = api_token_create(actor=world.rep, name="b", scope="read", expires_in_days=1)[1]
    statuses = [client.get("/api/v1/me/", headers={"Authorization": f"Bearer {first}"}
                           ).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/me/", headers={"Authorization": f"Bearer {second}"}
                      ).status_code == 200
    cache.clear()


def test_device_pages_are_keyset_pages_stable_under_inserts(world, api_as):
    world.devices(7)
    api = api_as(world.admin)
    first = api.get("/api/v1/devices/", {"page_size": 3}).json()
    ids = [d["id"] for d in first["results"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    world.devices(4)  # inserted between two page reads: newer ids, before page 1
    seen = list(ids)
    url = first["next"]
    while url:
        page = api.get(url).json()
        seen += [d["id"] for d in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 7  # nothing repeated, nothing skipped
    assert "cursor=" in first["next"] and "offset" not in first["next"]


def test_device_filters_are_all_inventorys(world, api_as):
    soon = world.devices(2, expires_in_days=20)
    later = world.devices(1, expires_in_days=300)
    world.stocking_order([later[0]], facility=world.mercy)
    api = api_as(world.admin)
    before = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    expiring = api.get("/api/v1/devices/", {"expiring_before": before}).json()["results"]
    assert {d["id"] for d in expiring} == {d.pk for d in soon}
    stock = api.get("/api/v1/devices/", {"status": "facility_stock",
                                         "facility": world.mercy.pk}).json()["results"]
    assert [d["id"] for d in stock] == [later[0].pk]
    bad = api.get("/api/v1/devices/", {"facility": "not-a-number"})
    assert bad.status_code == 400 and "facility" in bad.json()["fields"]


@pytest.mark.parametrize("rows", [2, 12])
def test_lists_and_details_use_a_bounded_number_of_queries(
        world, api_as, rows, django_assert_max_num_queries):
    devices = world.devices(rows)
    event = world.event("stocking_order")
    world.add(event, devices)
    world.submit(event)
    api = api_as(world.admin)
    paths = ["/api/v1/devices/", f"/api/v1/devices/{devices[0].pk}/",
             f"/api/v1/devices/{devices[0].pk}/history/", "/api/v1/events/",
             f"/api/v1/events/{event.pk}/", "/api/v1/facilities/", "/api/v1/products/",
             "/api/v1/sales-orders/", "/api/v1/invoices/", "/api/v1/credit-memos/",
             "/api/v1/transfers/"]
    for path in paths:
        with django_assert_max_num_queries(9):
            assert api.get(path).status_code == 200, path


def test_an_id_beyond_64_bits_is_a_404_not_a_500(world, api_as):
    api = api_as(world.admin)
    for path in ["/api/v1/devices/99999999999999999999999/",
                 "/api/v1/events/9223372036854775808/submit/"]:
        response = api.post(path) if path.endswith("submit/") else api.get(path)
        assert response.status_code == 404, path
