"""What every page shares: error pages, one money format, one status colour, log lines."""

import logging
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse

from config.logfilters import ClientErrorWithoutTraceback
from core.formatting import format_money, status_badge
from events.models import Event, EventStatus
from inventory.models import Device, DeviceStatus, Transfer
from tests.factories import ManagerFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- error pages -----------------------------------------------------------------------------


@override_settings(DEBUG=False)
def test_403_is_styled_says_why_and_where_to_go(client):
    manager = ManagerFactory()
    client.force_login(manager)
    response = client.get(reverse("events:create"))
    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-testid="error-page"' in html and 'href="/static/' in html  # our layout
    assert "Managers can look at everything but change nothing" in html
    assert 'aria-label="Main navigation"' in html
    assert f'href="{reverse("events:list")}"' in html and f'href="{reverse("home")}"' in html
    rep = UserFactory(organization=manager.organization)
    client.force_login(rep)
    html = client.get(reverse("billing:queue")).content.decode()
    assert "This page is only for admins and managers; you are signed in as a Rep." in html


@override_settings(DEBUG=False)
def test_404_is_styled_and_points_home(client):
    rep = UserFactory()
    client.force_login(rep)
    response = client.get("/events/999999/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-page"' in html and "doesn't exist or isn't yours" in html
    assert 'aria-label="Main navigation"' in html and 'href="/events/"' in html


@override_settings(DEBUG=False)
def test_404_for_anonymous_offers_login(client):
    html = client.get("/no-such-page/").content.decode()
    assert 'data-testid="error-page"' in html and reverse("login") in html


@override_settings(DEBUG=False)
def test_500_is_standalone_styled_and_needs_no_request_or_database(client):
    from django.template import loader

    # Django renders 500.html with an empty context: no request, no user, no database.
    html = loader.get_template("500.html").render({})
    assert 'data-testid="error-page"' in html and "/static/css/app.css" in html
    assert "Something went wrong on our side" in html and 'href="/"' in html
    client.raise_request_exception = False
    from django.urls import path

    def boom(request):
        raise RuntimeError("boom")

    urls = type("urls", (), {"urlpatterns": [path("boom/", boom)], "handler500": None})
    with override_settings(ROOT_URLCONF=urls):
        response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_403_logs_one_line_without_traceback_and_500_keeps_it(caplog):
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                               "Forbidden (Permission denied): %s", ("/events/new/",),
                               (PermissionError, PermissionError("x"), None))
    record.status_code = 403
    assert ClientErrorWithoutTraceback().filter(record) and record.exc_info is None
    error = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", (),
                              (RuntimeError, RuntimeError("x"), None))
    error.status_code = 500
    assert ClientErrorWithoutTraceback().filter(error) and error.exc_info is not None


def test_log_lines_are_printed_once_and_a_403_without_traceback():
    """The settings' LOGGING in a fresh process (pytest adds its own handlers to this one)."""
    import os
    import subprocess
    import sys

    code = (
        "import logging, django; django.setup()\n"
        "logging.getLogger('django.server').info('GET /events/ 200')\n"
        "try:\n    raise PermissionError('denied')\n"
        "except PermissionError as e:\n"
        "    logging.getLogger('django.request').warning('Forbidden: /x/', exc_info=e,"
        " extra={'status_code': 403})\n"
    )
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stderr
    assert out.count("GET /events/ 200") == 1
    assert out.count("Forbidden: /x/") == 1
    assert "Traceback" not in out


# --- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "currency", "shown"), [
    (Decimal("2535"), "USD", "$2,535.00"),
    (Decimal("1234567.5"), "EUR", "€1,234,567.50"),
    (Decimal("0.005"), "GBP", "£0.01"),
    (Decimal("-12"), "USD", "-$12.00"),
    (Decimal("99.9"), "CHF", "CHF\u00a099.90"),
    (None, "USD", ""),
])
def test_money_has_grouping_and_the_currency(value, currency, shown):
    assert format_money(value, currency) == shown


def test_money_filter_uses_the_organisations_currency(client, django_user_model):
    org = OrganizationFactory(currency="EUR")
    rep = UserFactory(organization=org)
    client.force_login(rep)
    response = client.get(reverse("events:list"))
    assert response.context["currency"] == "EUR"
    html = Template("{% load ui %}{{ x|money:currency }}").render(Context(
        {"x": Decimal("2535"), "currency": response.context["currency"]}))
    assert html == "€2,535.00"


def test_currency_is_an_iso_code_with_usd_by_default():
    assert OrganizationFactory().currency == "USD"
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganizationFactory(currency="usd")


# --- one status presentation ------------------------------------------------------------------


def test_every_status_has_one_label_and_colour():
    for status in EventStatus:
        badge = status_badge(Event(status=status))
        assert f"text-bg-{status.colour}" in badge and status.label in badge
    for status in DeviceStatus:
        assert f"text-bg-{status.colour}" in status_badge(Device(status=status))
    for status in Transfer.Status:
        badge = status_badge(Transfer(status=status))
        assert f"text-bg-{status.colour}" in badge and status.label in badge
    # Submitted statuses are told apart (no "everything green").
    colours = {EventStatus(s).colour for s in (EventStatus.PENDING_PO, EventStatus.INVOICED,
                                              EventStatus.READY_TO_INVOICE, EventStatus.PAID)}
    assert len(colours) == 4


# --- the main navigation ----------------------------------------------------------------------


def test_the_navigation_links_follow_the_role_and_the_page_when_kept(client):
    """The navigation's links are kept per role and page (accounts' ``nav_links``): each role
    still sees its own links, and the active one is the page's, at the first request and the
    next."""
    import re

    admin = UserFactory(role="admin")
    rep = UserFactory(organization=admin.organization)

    def links(user, url):
        client.force_login(user)
        html = client.get(url).content.decode()
        nav = html.split('id="main-nav"', 1)[1].split('data-testid="user-menu"', 1)[0]
        active = re.findall(r'nav-link active" href="([^"]+)"', nav)
        return ("Receiving" in nav, "Billing" in nav, active)

    for _ in range(2):
        assert links(admin, reverse("inventory:device_list")) == (
            True, True, [reverse("inventory:device_list")])
        assert links(rep, reverse("inventory:device_list")) == (
            False, False, [reverse("inventory:device_list")])
        assert links(admin, reverse("events:list")) == (True, True, [reverse("events:list")])
        assert links(rep, reverse("events:agenda")) == (False, False, [reverse("events:agenda")])
