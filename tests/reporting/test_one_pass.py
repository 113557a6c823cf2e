"""The report pages read each dimension in one pass (GROUPING SETS on PostgreSQL), the dashboard's
previews read ids first: the same rows as the per-dimension queries the CSV exports use."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reporting import selectors
from reporting.selectors import ReportFilters, Scope
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db


def _key(rows):
    return sorted(sorted((k, str(v)) for k, v in r.items()) for r in rows)


@pytest.fixture
def busy(shop):
    """Sales by stocking orders and cases at two facilities over three months, facility stock
    used by two surgeons, two products."""
    cheap = shop.new_product(unit_price=Decimal("250.00"))
    mercy = shop.new_facility(shop.coverer, name="Mercy General")
    sold = shop.receive(6)
    shop.stock(sold[:4], today=days(-70))
    shop.stock(sold[4:], facility=mercy, today=days(-35))
    shop.use(sold[:2], today=days(-30), surgeon="Dr. Grey")
    shop.use(sold[4:5], facility=mercy, today=days(-3), surgeon="Dr. Who")
    shop.case(shop.receive(3, product=cheap), facility=mercy, today=days(-2))
    shop.case(shop.receive(1, product=cheap), today=days(-1), surgeon="")
    return shop


@pytest.mark.parametrize("who", ["manager", "seller", "coverer"])
def test_sales_report_matches_sales_by_and_totals(busy, who):
    user = getattr(busy, who)
    scope, filters = selectors.scope_for(user), ReportFilters.default()
    groups, totals = selectors.sales_report(scope, filters)
    assert totals == selectors.sales_totals(scope, filters)
    for dim in selectors.SALES_DIMENSIONS:
        expected = selectors.sales_by(scope, filters, dim)
        assert _key(groups[dim]) == _key(expected), dim
        assert [r["revenue"] for r in groups[dim]] == [r["revenue"] for r in expected]
    if who == "manager":
        assert totals["units"] == 10
        assert [r["label"] for r in groups["facility"]] == ["St. Mary's", "Mercy General"]
        assert len(groups["month"]) >= 2


@pytest.mark.parametrize("who", ["manager", "coverer"])
def test_usage_report_matches_usage_by(busy, who):
    user = getattr(busy, who)
    scope, filters = selectors.scope_for(user), ReportFilters.default()
    groups = selectors.usage_report(scope, filters, top_products=1)
    for dim in selectors.USAGE_DIMENSIONS:
        expected = selectors.usage_by(scope, filters, dim, limit=1 if dim == "product" else None)
        assert _key(groups[dim]) == _key(expected), dim
        assert [r["units"] for r in groups[dim]] == [r["units"] for r in expected]
    if who == "manager":
        assert {r["label"]: r["units"] for r in groups["surgeon"]} == {
            "Dr. Grey": 2, "Dr. Who": 1, "Dr. House": 3, "(not recorded)": 1}


def test_report_pages_aggregate_the_lines_once(client, busy):
    client.force_login(busy.manager)
    for url, at_most in ((reverse("reporting:sales"), 1), (reverse("reporting:usage"), 2)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        passes = [q for q in queries.captured_queries
                  if "events_eventlinesummary" in q["sql"]]
        # Sales: one pass. Usage: one pass, and the last 90 days per facility and product
        # (days of cover). On SQLite one query per dimension. Both read the line summary, never
        # the lines themselves.
        assert not [q for q in queries.captured_queries
                    if connection.ops.quote_name("events_eventline") in q["sql"]]
        if connection.vendor == "postgresql":
            assert len(passes) == at_most, [q["sql"][:80] for q in passes]


def test_dashboard_previews_are_the_first_rows(busy):
    scope, filters = Scope(busy.org.pk), ReportFilters.default()
    assert selectors.where_used_preview(scope, filters, limit=2) == list(
        selectors.where_used(scope, filters)[:2])
    assert selectors.where_used_preview(scope, filters, limit=50) == list(
        selectors.where_used(scope, filters))
    soon = busy.receive(3, expires_in_days=20)
    busy.stock(soon)
    buckets, counts = selectors.expiring_preview(scope, filters, per_bucket=2)
    assert counts == {"30": 3}
    assert [d.pk for d in buckets["30"]] == [d.pk for d in selectors.expiring_stock(
        scope, filters)][:2]
    assert buckets["60"] == [] and buckets["expired"] == []


def test_dashboard_commissions_are_sorted_by_rep_name(busy):
    rows = selectors.facility_stock_commissions(Scope(busy.org.pk), ReportFilters.default())
    # The seller's stocking orders (6 × 1,000.00 at 10 %, 60 % at sale), the coverer's 3 uses.
    assert [(r["rep__last_name"], r["credits"], r["at_sale"], r["at_use"]) for r in rows] == [
        ("Cover", 3, Decimal("0.00"), Decimal("120.00")),
        ("Seller", 6, Decimal("360.00"), Decimal("0.00")),
    ]
    assert set(rows[0]) == {"rep_id", "rep__first_name", "rep__last_name", "rep__username",
                            "at_sale", "at_use", "clawed_back", "total", "credits"}
