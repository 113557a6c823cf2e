"""A regional manager's figures count their region only (numbers), and their main pages read a
number of queries that does not grow with the rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from consignment.models import Region
from consignment.services import region_save
from events.models import Event
from inventory.models import Device
from reporting.selectors.attention import attention_for
from reporting.selectors.sales import sales_totals
from reporting.selectors.scope import ReportFilters, scope_for
from tests.events.conftest import build_world
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def regions():
    """North: St. Mary's, Ann, Rhea (regional manager). South: Mercy General, Bob."""
    w = build_world()
    rhea = UserFactory(organization=w.org, role=User.Role.REGIONAL_MANAGER, first_name="Rhea")
    region_save(actor=w.admin, region=Region(organization=w.org, name="North"),
                facilities=[w.st_marys], members=[w.rep, rhea])
    region_save(actor=w.admin, region=Region(organization=w.org, name="South"),
                facilities=[w.mercy], members=[w.rep2])
    return w, rhea


def test_sales_dashboard_and_home_totals_count_the_region_only(client):
    w, rhea = regions()
    # North: Ann sells 2 units (2 × 1000) at St. Mary's; South: Bob sells 3 at Mercy.
    w.stocking_order(w.devices(2))
    w.stocking_order(w.devices(3, custodian=w.rep2), facility=w.mercy, rep=w.rep2)
    w.event("case", name="North draft")
    w.event("case", rep=w.rep2, facility=w.mercy, name="South draft")
    w.event("case", rep=w.rep2, facility=w.mercy, name="South draft 2")
    filters = ReportFilters.default()

    assert sales_totals(scope_for(w.admin), filters)["revenue"] == Decimal("5000.00")
    assert sales_totals(scope_for(rhea), filters)["revenue"] == Decimal("2000.00")
    assert sales_totals(scope_for(rhea), filters)["units"] == 2

    home = attention_for(user=rhea, today=timezone.localdate())
    assert home.drafts == 1  # the North's draft; the South's two are not counted
    assert attention_for(user=w.manager, today=timezone.localdate()).drafts == 3

    client.force_login(rhea)
    csv = b"".join(client.get(reverse("reporting:sales"), {"export": "facility"})
                   .streaming_content).decode()
    assert "St. Mary's" in csv and "Mercy General" not in csv
    assert "2000.00" in csv and "3000.00" not in csv
    stock = b"".join(client.get(reverse("reporting:index"), {"export": "stock"})
                     .streaming_content).decode()
    assert "St. Mary's" in stock and "Mercy General" not in stock
    page = client.get(reverse("inventory:device_list"))
    assert page.context["table"].page.paginator.count == Device.objects.filter(
        facility=w.st_marys).count() == 2
    events = client.get(reverse("events:list"))
    assert events.context["table"].page.paginator.count == Event.objects.filter(
        facility=w.st_marys).count() == 2


PAGES = ["home", "inventory:device_list", "events:list", "reporting:index", "reporting:sales",
         "events:agenda", "inventory:transfer_list", "inventory:kit_list",
         "consignment:facility_list"]


def _counts(client) -> dict[str, int]:
    """Each page's queries with its option lists read afresh (core.options keeps them between
    requests until a row they show changes: adding rows below may or may not)."""
    from core import options

    counts = {}
    for name in PAGES:
        options.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name)).status_code == 200, name
        counts[name] = len(queries)
    return counts


def test_the_regional_managers_main_pages_read_a_constant_number_of_queries(client):
    w, rhea = regions()
    w.stocking_order(w.devices(1))
    w.event("case", name="North draft")
    client.force_login(rhea)
    client.get(reverse("home"))  # the session and its caches, once
    before = _counts(client)
    for _ in range(3):  # more rows in both regions
        w.stocking_order(w.devices(5))
        w.stocking_order(w.devices(5, custodian=w.rep2), facility=w.mercy, rep=w.rep2)
        w.event("case", name="North draft")
        w.event("case", rep=w.rep2, facility=w.mercy, name="South draft")
    w.devices(20)
    w.devices(20, custodian=w.rep2)
    after = _counts(client)
    assert after == before
    assert max(after.values()) <= 25, after
