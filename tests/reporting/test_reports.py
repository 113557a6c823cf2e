"""Sales and usage reports: revenue by rep, facility, product line and month; devices used,
top products and days of cover — with numbers worked out by hand."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from reporting import selectors
from reporting.selectors import ReportFilters, Scope
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db


def test_sales_by_rep_facility_line_and_month_count_facility_stock_once(client, shop):
    # Seller: a stocking order of 2 × 1,000.00 at St. Mary's, one of them later used by the
    # covering rep; and a case with rep inventory of 1 × 250.00 at Mercy.
    cheap = shop.new_product(unit_price=Decimal("250.00"))
    mercy = shop.new_facility(name="Mercy General")
    sold = shop.receive(2)
    shop.stock(sold)
    shop.use(sold[:1])
    shop.case(shop.receive(1, product=cheap), facility=mercy)
    scope, filters = Scope(shop.org.pk), ReportFilters.default()

    by_rep = selectors.sales_by(scope, filters, "rep")
    assert [(r["label"], r["units"], r["stocking"], r["cases"], r["revenue"]) for r in by_rep] == [
        ("Riley Seller", 3, Decimal("2000.00"), Decimal("250.00"), Decimal("2250.00"))
    ]
    by_facility = selectors.sales_by(scope, filters, "facility")
    assert [(r["label"], r["revenue"]) for r in by_facility] == [
        ("St. Mary's", Decimal("2000.00")), ("Mercy General", Decimal("250.00"))
    ]
    [by_month] = selectors.sales_by(scope, filters, "month")
    assert by_month["revenue"] == Decimal("2250.00")
    assert by_month["label"] == filters.today.strftime("%Y-%m")

    client.force_login(shop.manager)
    response = client.get(reverse("reporting:sales"))
    assert response.context["totals"] == {"units": 3, "revenue": Decimal("2250.00"),
                                          "returns": Decimal("0.00")}
    rows = list(csv.reader(io.StringIO(
        client.get(reverse("reporting:sales"), {"export": "product_line"}).getvalue().decode())))
    assert rows == [["Group", "Units", "Stocking orders", "Cases", "Returns", "Net revenue"],
                    ["Pedicle Screws", "3", "2000.00", "250.00", "0.00", "2250.00"]]

    # The covering rep sold nothing: their report is empty; the outsider's too.
    client.force_login(shop.coverer)
    assert client.get(reverse("reporting:sales")).context["totals"]["units"] == 0


def test_sales_period_filter(shop):
    shop.stock(shop.receive(1), today=days(-40))
    shop.stock(shop.receive(1))
    filters = ReportFilters(date_from=days(-10), date_to=days(0), today=days(0))
    assert selectors.sales_totals(Scope(shop.org.pk), filters)["units"] == 1


def test_usage_by_facility_surgeon_product_and_days_of_cover(client, shop):
    # 12 sold to St. Mary's; 9 used over the last 90 days (6 by Dr. Grey, 3 by Dr. Who):
    # 3 on hand ÷ (9 / 90 per day) = 30 days of cover.
    devices = shop.receive(12)
    shop.stock(devices, today=days(-80))
    shop.use(devices[:6], today=days(-60), surgeon="Dr. Grey")
    shop.use(devices[6:9], today=days(-5), surgeon="Dr. Who")
    shop.par(shop.product, 5)
    scope, filters = Scope(shop.org.pk), ReportFilters.default()

    by_surgeon = selectors.usage_by(scope, filters, "surgeon")
    assert [(r["label"], r["units"], r["from_facility_stock"]) for r in by_surgeon] == [
        ("Dr. Grey", 6, 6), ("Dr. Who", 3, 3)
    ]
    [by_product] = selectors.usage_by(scope, filters, "product")
    assert by_product["units"] == 9
    [cover] = selectors.days_of_cover(scope, filters)
    assert (cover["on_hand"], cover["used"], cover["cover_days"]) == (3, 9, 30)

    client.force_login(shop.admin)
    response = client.get(reverse("reporting:usage"))
    assert [r["cover_days"] for r in response.context["cover"]] == [30]
    # Two months (55 days apart): 6 devices, then 3.
    assert response.context["chart"]["datasets"][0]["data"] == [6, 3]


def test_usage_older_than_90_days_does_not_count_for_cover(shop):
    devices = shop.receive(4)
    shop.stock(devices, today=days(-200))
    shop.use(devices[:2], today=days(-100))
    [cover] = selectors.days_of_cover(Scope(shop.org.pk), ReportFilters.default())
    assert (cover["on_hand"], cover["used"], cover["cover_days"]) == (2, 0, None)


def test_report_pages_have_a_query_bound(client, shop, django_assert_max_num_queries):
    client.force_login(shop.admin)
    for n in (1, 4):
        for _ in range(n):
            product = shop.new_product()
            facility = shop.new_facility(shop.coverer)
            devices = shop.receive(2, product=product)
            shop.stock(devices, facility=facility)
            shop.use(devices[:1], facility=facility)
        with django_assert_max_num_queries(14):
            client.get(reverse("reporting:sales"))
        with django_assert_max_num_queries(14):
            client.get(reverse("reporting:usage"))
