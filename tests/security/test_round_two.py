"""Security round two (issue 22): the absolute session lifetime, the security headers on early
answers, the body cap, dates far out of range, file names in Content-Disposition."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from accounts.middleware import LAST_SEEN, LOGIN_AT

pytestmark = pytest.mark.django_db

SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                    "Referrer-Policy", "Permissions-Policy", "Cross-Origin-Opener-Policy")


def assert_security_headers(response):
    for header in SECURITY_HEADERS:
        assert response.has_header(header), (header, response.status_code)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_a_session_used_every_half_hour_still_ends_its_maximum_after_login(client, world,
                                                                          settings):
    """The idle stamp saves the session (which moves the cookie's expiry); the login time does
    not move, so the session ends SESSION_MAX_HOURS after login whatever its activity."""
    client.force_login(world.rep)
    home = reverse("home")
    assert client.get(home).status_code == 200
    login_at = client.session[LOGIN_AT]
    assert abs(login_at - time.time()) < 60
    # Used every 30 minutes for 11 h 30: still in.
    session = client.session
    session[LOGIN_AT] = int(time.time()) - settings.SESSION_MAX_HOURS * 3600 + 1800
    session[LAST_SEEN] = int(time.time()) - 1700
    session.save()
    assert client.get(home).status_code == 200
    assert client.session[LOGIN_AT] == session[LOGIN_AT]  # activity never moves it
    # Another 30 minutes and a second later: past the maximum, though it was just used.
    session = client.session
    session[LOGIN_AT] = int(time.time()) - settings.SESSION_MAX_HOURS * 3600 - 1
    session[LAST_SEEN] = int(time.time()) - 60
    session.save()
    response = client.get(home, follow=True)
    assert response.redirect_chain[0][1] == 302
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert f"a session lasts at most {settings.SESSION_MAX_HOURS} hours" in (
        response.content.decode())


def test_a_real_login_records_the_login_time(client, world):
    from tests.factories import PASSWORD

    response = client.post(reverse("login"), {"username": world.rep.username,
                                              "password": PASSWORD})
    assert response.status_code == 302
    assert abs(client.session[LOGIN_AT] - time.time()) < 60


def test_the_input_refused_page_carries_every_security_header(client, world):
    client.force_login(world.rep)
    response = client.get(reverse("home"), {"q": "a\x00b"})
    assert response.status_code == 400
    assert_security_headers(response)
    assert "no-store" in response["Cache-Control"]
    anonymous = client.__class__().get(reverse("login"), {"q": "x\x01"})
    assert anonymous.status_code == 400
    assert_security_headers(anonymous)


def test_ordinary_answers_carry_every_security_header(client, world):
    assert_security_headers(client.get(reverse("login")))
    client.force_login(world.rep)
    assert_security_headers(client.get(reverse("home")))
    assert_security_headers(client.get("/no-such-page/"))


def test_a_body_over_the_cap_is_refused_with_413_before_it_is_read(client, world, settings):
    settings.REQUEST_MAX_BYTES = 1000
    client.force_login(world.admin)
    response = client.generic(
        "POST", reverse("login"), b"x" * 1001, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "larger than the 1,000 bytes" in response.content.decode()
    assert_security_headers(response)
    response = client.post(reverse("login"), {"username": "a", "password": "b"})
    assert response.status_code == 302  # a small body goes through (signed in: to home)
