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


# --- dates far out of range, the admin's document pages, file names ---------------------------

OUT_OF_RANGE = ("To 31 Dec 9999 is out of range: choose a date between 01 Jan 1900 and "
                "31 Dec 2999.")


@pytest.mark.parametrize("query", [{"date_to": "9999-12-31"},
                                   {"date_from": "0001-01-01", "date_to": "9999-12-31"}])
def test_reports_with_a_date_far_out_of_range_answer_a_message_not_500(client, world, query):
    client.force_login(world.admin)
    response = client.get("/reports/", query)
    assert response.status_code < 500
    assert OUT_OF_RANGE in response.content.decode()


@pytest.mark.parametrize("fmt", ["", "pdf", "csv"])
def test_the_commission_statement_with_a_far_date_answers_a_message(client, world, fmt):
    client.force_login(world.admin)
    query = {"rep": world.rep.pk, "date_from": "2026-01-01", "date_to": "9999-12-31"}
    if fmt:
        query["format"] = fmt
    response = client.get(reverse("commissions:statement"), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert OUT_OF_RANGE in response.content.decode()


def test_day_range_clamps_the_ends_of_the_calendar():
    import datetime

    from core.dates import day_range

    start, end = day_range(datetime.date.min, datetime.date.max)
    assert start < end and end.year == 9998


def test_the_admin_sales_order_page_works_with_database_storage(client, world, settings,
                                                                django_capture_on_commit_callbacks):
    from core.storage import DatabaseStorage
    from tests.billing._billing import billable_event

    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "core.storage.DatabaseStorage"}}
    from django.core.files.storage import default_storage
    default_storage._wrapped = DatabaseStorage()  # the setting was read at first use
    try:
        event = billable_event(world, django_capture_on_commit_callbacks)
        order = event.sales_order
        assert order.pdf and isinstance(order.pdf.storage, DatabaseStorage)
        client.force_login(world.admin)
        response = client.get(reverse("admin:billing_salesorder_change", args=[order.pk]))
        assert response.status_code == 200
        link = reverse("billing:sales_order_pdf", args=[event.pk])
        assert f'href="{link}"' in response.content.decode()
        pdf = client.get(link)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    finally:
        default_storage._wrapped = None


def test_file_names_follow_rfc_6266_with_an_ascii_fallback():
    from core.http import content_disposition

    assert content_disposition("PO-4471.pdf") == 'attachment; filename="PO-4471.pdf"'
    assert content_disposition("commission-zoë-李.pdf", attachment=False) == (
        "inline; filename=\"commission-zoe-.pdf\"; "
        "filename*=UTF-8''commission-zo%C3%AB-%E6%9D%8E.pdf")
    assert content_disposition('a"b\r\n.csv').startswith('attachment; filename="a_b__.csv";')


def test_a_non_ascii_username_keeps_its_statement_file_name(client, world):
    rep = world.rep
    rep.username = "zoë.müller"
    rep.save(update_fields=["username"])
    client.force_login(world.admin)
    query = {"rep": rep.pk, "date_from": "2026-01-01", "date_to": "2026-01-31"}
    pdf = client.get(reverse("commissions:statement"), {**query, "format": "pdf"})
    assert pdf.status_code == 200
    disposition = pdf["Content-Disposition"]
    assert disposition.startswith('inline; filename="commission-zoe.muller-20260101-20260131.pdf"')
    assert "filename*=UTF-8''commission-zo%C3%AB.m%C3%BCller-20260101-20260131.pdf" in disposition
    disposition.encode("latin-1")  # a header value HTTP can carry
    csv = client.get(reverse("commissions:statement"), {**query, "format": "csv"})
    assert "filename*=UTF-8''commission-zo%C3%AB.m%C3%BCller" in csv["Content-Disposition"]
