"""The Facility Stock Sales dashboard: par levels, expiry buckets, sales vs use, where used,
commissions from facility stock, CSV exports, scoping and a query bound."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from reporting import selectors
from reporting.selectors import ReportFilters, Scope
from tests.factories import FacilityFactory, OrganizationFactory, UserFactory
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db
URL = reverse("reporting:index")


def rows_of(response):
    return list(csv.reader(io.StringIO(response.getvalue().decode())))


def test_par_5_with_3_on_hand_is_listed_low_by_2(client, shop):
    shop.par(shop.product, 5)
    shop.stock(shop.receive(3))
    other = shop.new_product(reference="MS-00002")
    shop.par(other, 2)
    shop.stock(shop.receive(2, product=other))  # at par: not low

    low = selectors.low_stock(Scope(shop.org.pk), ReportFilters.default())
    assert [(r["reference"], r["par"], r["on_hand"], r["shortfall"]) for r in low] == [
        ("MS-00001", 5, 3, 2)
    ]

    client.force_login(shop.manager)
    response = client.get(URL)
    assert [(r["reference"], r["shortfall"]) for r in response.context["low"]] == [
        ("MS-00001", 2)
    ]
    html = response.content.decode()
    assert "low by 2" in html
    low_csv = rows_of(client.get(URL, {"export": "low"}))
    assert low_csv[0] == ["Facility", "Catalogue number", "Description", "Product line",
                          "Par level", "On hand", "Shortfall"]
    assert low_csv[1:] == [["St. Mary's", "MS-00001", "Polyaxial pedicle screw 6.5 x 45 mm",
                            "Pedicle Screws", "5", "3", "2"]]


def test_expired_facility_stock_is_not_on_hand(shop):
    shop.par(shop.product, 2)
    # Sold 30 days ago, expiring 25 days ago... as seen from today.
    shop.stock(shop.receive(1, expires_in_days=5, today=days(-30)), today=days(-30))
    shop.stock(shop.receive(1))
    rows = selectors.stock_against_par(Scope(shop.org.pk), ReportFilters.default())
    assert [(r["on_hand"], r["shortfall"]) for r in rows] == [(1, 1)]


def test_expiry_buckets_are_exclusive(client, shop):
    expiring = {n: shop.receive(1, expires_in_days=n)[0] for n in (0, 30, 31, 45, 60, 61, 90, 91)}
    expired = shop.receive(1, expires_in_days=5, today=days(-30))[0]
    shop.stock(list(expiring.values()))
    shop.stock([expired], today=days(-30))

    devices = selectors.expiring_stock(Scope(shop.org.pk), ReportFilters.default())
    buckets = {key: [d.pk for d in ds] for key, ds in selectors.expiring_by_bucket(devices).items()}
    assert buckets == {
        "expired": [expired.pk],
        "30": [expiring[0].pk, expiring[30].pk],
        "60": [expiring[31].pk, expiring[45].pk, expiring[60].pk],
        "90": [expiring[61].pk, expiring[90].pk],
    }
    # The 45-day device is in the 60-day list on the page, not the 30-day one.
    client.force_login(shop.admin)
    response = client.get(URL)
    groups = {g["key"]: [d.pk for d in g["devices"]] for g in response.context["expiry_groups"]}
    assert expiring[45].pk in groups["60"]
    assert expiring[45].pk not in groups["30"]
    assert expiring[91].pk not in sum(groups.values(), [])


def test_sixty_forty_commission_shows_on_dashboard_and_revenue_counts_once(client, shop):
    """s = 60 %, r = 10 %, p = 1,000.00: 60.00 to the seller at sale, 40.00 to the covering rep."""
    device = shop.receive(1)[0]
    stocking = shop.stock([device])
    case = shop.use([device])

    rows = selectors.facility_stock_commissions(Scope(shop.org.pk), ReportFilters.default())
    assert [(r["rep__username"], r["at_sale"], r["at_use"], r["total"]) for r in rows] == [
        ("coverer", Decimal("0.00"), Decimal("40.00"), Decimal("40.00")),
        ("seller", Decimal("60.00"), Decimal("0.00"), Decimal("60.00")),
    ]
    client.force_login(shop.admin)
    response = client.get(URL)
    html = response.content.decode()
    # The rep's name links to their statement (issue 23).
    assert ">Riley Seller</a></td><td class=\"num\">$60.00</td>" in html
    assert ">Sam Cover</a></td><td class=\"num\">$0.00</td><td class=\"num\">$40.00</td>" in html

    # Sold once, used once — in the chart data and the table.
    [month] = response.context["monthly"]
    assert (month["sold_units"], month["sold_value"]) == (1, Decimal("1000.00"))
    assert (month["used_units"], month["used_value"]) == (1, Decimal("1000.00"))
    assert response.context["chart"]["datasets"][0]["data"] == [1]
    assert 'id="chart-monthly"' in html

    # Where it was used: case, date, surgeon, covering rep, and the stocking order that sold it.
    [line] = response.context["where_used"]
    assert (line.event.pk, line.event.surgeon, line.event.representative, line.sold_by.pk) == (
        case.pk, "Dr. Grey", shop.coverer, stocking.pk)
    where_csv = rows_of(client.get(URL, {"export": "where_used"}))
    assert where_csv[1][2:5] == ["St. Mary's", "Dr. Grey", "Sam Cover"]

    # The sales report counts the device's 1,000.00 once.
    sales = client.get(reverse("reporting:sales"))
    assert sales.context["totals"] == {"units": 1, "revenue": Decimal("1000.00"),
                                       "returns": Decimal("0.00")}
    assert 'data-testid="sales-total">$1,000.00<' in sales.content.decode()


def test_rep_sees_their_facilities_stock_and_only_their_own_commission(client, shop):
    device, elsewhere_device = shop.receive(2)
    shop.stock([device])
    elsewhere = shop.new_facility(shop.outsider, name="Mercy General")
    shop.stock([elsewhere_device], facility=elsewhere)
    shop.use([device])

    client.force_login(shop.coverer)  # covers St. Mary's only
    response = client.get(URL)
    assert {r["facility"] for r in response.context["stock"]} == set()  # all used up
    assert [r["rep__username"] for r in response.context["commissions"]] == ["coverer"]
    facility_choices = [f.name for f in response.context["form"].fields["facility"].queryset]
    assert facility_choices == ["St. Mary's"]

    client.force_login(shop.outsider)  # covers Mercy General
    response = client.get(URL)
    assert [r["facility"] for r in response.context["stock"]] == ["Mercy General"]
    assert response.context["commissions"] == []
    assert response.context["where_used"] == []

    # The seller covers nothing (events at both facilities give no scope): sees no facility's
    # stock, and their own commission.
    client.force_login(shop.seller)
    response = client.get(URL)
    assert response.context["stock"] == []
    assert [r["rep__username"] for r in response.context["commissions"]] == ["seller"]


def test_other_organisation_is_invisible_and_its_facility_filter_is_refused(client, shop):
    shop.stock(shop.receive(1))
    other_org = OrganizationFactory()
    other_facility = FacilityFactory(organization=other_org)
    client.force_login(UserFactory(organization=other_org))
    response = client.get(URL)
    assert response.context["stock"] == []
    assert response.context["commissions"] == []
    client.force_login(shop.admin)
    response = client.get(URL, {"facility": other_facility.pk})
    assert "facility" in response.context["form"].errors


def test_csv_cells_that_look_like_formulas_are_neutralised(client, shop):
    facility = shop.new_facility(name="=HYPERLINK(\"http://evil\")")
    shop.par(shop.product, 4, facility=facility)
    client.force_login(shop.admin)
    rows = rows_of(client.get(URL, {"export": "stock"}))
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\")"
    for export in ("stock", "low", "expiring", "monthly", "where_used", "commissions"):
        response = client.get(URL, {"export": export})
        assert response["Content-Type"].startswith("text/csv"), export


def test_filters_narrow_to_a_facility_and_a_product_line(client, shop):
    shop.par(shop.product, 5)
    mercy = shop.new_facility(name="Mercy General")
    shop.par(shop.product, 1, facility=mercy)
    client.force_login(shop.admin)
    response = client.get(URL, {"facility": mercy.pk})
    assert [r["facility"] for r in response.context["stock"]] == ["Mercy General"]


def _grow(shop, n):
    """n more facilities, each with a new product at par, stock sold and partly used."""
    for i in range(n):
        product = shop.new_product()
        facility = shop.new_facility(shop.coverer, name=f"Clinic {shop.org.pk}-{i}-{n}")
        shop.par(product, 4, facility=facility)
        devices = shop.receive(3, product=product, expires_in_days=20 + 40 * i)
        shop.stock(devices, facility=facility)
        shop.use(devices[:1], facility=facility)


@pytest.mark.parametrize("role", ["admin", "coverer"])
def test_dashboard_queries_do_not_grow_with_rows(client, shop, django_assert_max_num_queries,
                                                 role):
    user = shop.admin if role == "admin" else shop.coverer
    client.force_login(user)
    _grow(shop, 1)
    # 17: "where used" reads its 21 line ids, then those lines with what they show; the open
    # recalls card is one query (its counts are correlated subqueries); +1: the upcoming cases
    # short of requested stock (events' `short_cases` tag; 4 more, a constant, when such cases
    # have requests).
    with django_assert_max_num_queries(17):
        small = client.get(URL)
    _grow(shop, 5)
    with django_assert_max_num_queries(17):
        big = client.get(URL)
    assert len(big.context["stock"]) == 6 > len(small.context["stock"]) == 1
    assert len(big.context["where_used"]) == 6

