"""The report pages read each dimension in one pass (GROUPING SETS), the dashboard's previews
read ids first; each page and its CSV exports show the same rows (one function per figure)."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.submit import event_submit_for_billing
from core.exports import csv_cell
from core.formatting import format_money
from events.models import EventLine, EventStatus, EventType
from events.services import event_add_devices
from inventory.models import DeviceStatus
from reporting import selectors
from reporting.selectors import ReportFilters, Scope, sales
from tests.factories import make_event
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db


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


def _returned(shop):
    """A Return at St. Mary's of one device the seller sold there (a credit of 1,000.00)."""
    sold = shop.receive(1)
    shop.stock(sold, today=days(-5))
    ret = make_event(actor=shop.admin, representative=shop.seller, facility=shop.facility,
                     product_line=shop.line, event_type="return", name="Back", date=days(-1))
    event_add_devices(actor=shop.admin, event=ret, devices=sold)
    event_submit_for_billing(actor=shop.admin, event=ret, signature_name="Alex Admin")


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.getvalue().decode())))[1:]


def _cells(row: dict, names) -> list[str]:
    """The page's row as the CSV writes it (``csv_cell``: None empty, money with cents)."""
    return [str(csv_cell(row[name])) for name in names]


@pytest.mark.parametrize("who", ["manager", "seller", "coverer"])
def test_sales_page_and_csv_show_the_same_rows_returns_negative(client, busy, who):
    _returned(busy)
    client.force_login(getattr(busy, who))
    page = client.get(reverse("reporting:sales")).context
    groups = {dim: rows for dim, _, rows in page["groups"]}
    for dim in selectors.SALES_DIMENSIONS:
        csv_rows = _csv(client.get(reverse("reporting:sales"), {"export": dim}))
        assert csv_rows == [_cells(r, ("label", "units", "stocking", "cases", "returns",
                                       "revenue")) for r in groups[dim]], dim
    totals = page["totals"]
    if who == "coverer":  # sold nothing: an empty report
        assert totals == {"units": 0, "revenue": Decimal("0.00"), "returns": Decimal("0.00")}
        return
    # The returned device: sold (+1,000.00) and returned (−1,000.00), net nothing.
    assert totals["returns"] == Decimal("-1000.00")
    [mary] = [r for r in groups["facility"] if r["label"] == "St. Mary's"]
    assert mary["returns"] == Decimal("-1000.00")
    assert mary["revenue"] == mary["stocking"] + mary["cases"] + mary["returns"]
    [row] = [r for r in _csv(client.get(reverse("reporting:sales"), {"export": "facility"}))
             if r[0] == "St. Mary's"]
    assert row[4] == "-1000.00"
    html = client.get(reverse("reporting:sales")).content.decode()
    assert f'data-testid="returns">{format_money(Decimal("-1000.00"))}<' in html
    if who == "manager":
        assert totals["units"] == 10
        assert [r["label"] for r in groups["facility"]] == ["St. Mary's", "Mercy General"]
        assert len(groups["month"]) >= 2


@pytest.mark.parametrize("who", ["manager", "coverer"])
def test_usage_page_and_csv_show_the_same_rows(client, busy, who):
    client.force_login(getattr(busy, who))
    page = client.get(reverse("reporting:usage")).context
    groups = {dim: rows for dim, _, rows in page["groups"]}
    for dim in selectors.USAGE_DIMENSIONS:
        csv_rows = _csv(client.get(reverse("reporting:usage"), {"export": dim}))
        expected = [_cells(r, ("label", "units", "from_facility_stock")) for r in groups[dim]]
        if dim == "product":  # the page shows the top products, the CSV every one
            assert csv_rows[:len(expected)] == expected
        else:
            assert csv_rows == expected, dim
    cover = _csv(client.get(reverse("reporting:usage"), {"export": "cover"}))
    assert len(cover) == page["cover_count"]
    assert cover[:len(page["cover"])] == [
        _cells(r, ("facility", "reference", "description", "on_hand", "par", "used",
                   "cover_days")) for r in page["cover"]]
    if who == "manager":
        assert {r["label"]: r["units"] for r in groups["surgeon"]} == {
            "Dr. Grey": 2, "Dr. Who": 1, "Dr. House": 3, "(not recorded)": 1}


def test_enum_values_go_into_the_report_sql_as_parameters():
    """The SQL the reports write names no enum value: kinds, event types and statuses are
    passed as parameters (a renamed value cannot leave a stale literal behind)."""
    package = Path(selectors.__file__).parent
    values = {str(v) for enum in (EventLine.Kind, EventType, EventStatus, DeviceStatus)
              for v in enum.values}
    for module in package.glob("*.py"):
        text = module.read_text()
        for value in values:
            assert f"'{value}'" not in text, (module.name, value)
    sql, params = sales.SALES_AGGREGATES["returns"]
    assert "%s" in sql and params == [EventLine.Kind.RETURN]


def test_report_pages_aggregate_the_lines_once(client, busy):
    client.force_login(busy.manager)
    for url, at_most in ((reverse("reporting:sales"), 1), (reverse("reporting:usage"), 2)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        passes = [q for q in queries.captured_queries
                  if "events_eventlinesummary" in q["sql"]]
        # Sales: one pass. Usage: one pass, and the last 90 days per facility and product
        # (days of cover). Both read the line summary, never the lines themselves.
        assert not [q for q in queries.captured_queries
                    if connection.ops.quote_name("events_eventline") in q["sql"]]
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
                            "rep", "at_sale", "at_use", "clawed_back", "total", "credits"}
    assert [r["rep"] for r in rows] == ["Sam Cover", "Riley Seller"]
