"""Long report tables show their first rows with the count; the CSV has every row."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from commissions.models import CommissionCredit
from commissions.views import STATEMENT_PAGE
from consignment.models import Facility
from inventory.models import Product
from reporting.selectors import ReportFilters, Scope, stock_overview
from reporting.selectors.sql import fetch, ranks
from reporting.views import TOP_ROWS
from tests.factories import (
    FacilityFactory,
    OrganizationFactory,
    ParLevelFactory,
    ProductFactory,
    make_event,
)

pytestmark = pytest.mark.django_db


def test_dashboard_shows_the_top_rows_with_counts_and_the_csv_has_all(client, shop):
    for _ in range(TOP_ROWS + 1):
        ParLevelFactory(organization=shop.org, facility=shop.facility,
                        product=shop.new_product(), minimum=2)
    client.force_login(shop.admin)
    response = client.get(reverse("reporting:index"))
    html = response.content.decode()
    assert len(response.context["stock"]) == TOP_ROWS
    assert response.context["stock_count"] == TOP_ROWS + 1
    assert response.context["low_count"] == TOP_ROWS + 1
    assert f"The first {TOP_ROWS} of {TOP_ROWS + 1} facility × product rows" in html
    assert 'data-testid="low-more"' in html

    rows = list(csv.reader(io.StringIO(
        client.get(reverse("reporting:index"), {"export": "stock"}).getvalue().decode())))
    assert len(rows) == 1 + TOP_ROWS + 1


def test_statement_pages_credits_and_totals_cover_the_period(client, shop):
    devices = shop.receive(STATEMENT_PAGE + 5)
    event = make_event(actor=shop.admin, representative=shop.seller, facility=shop.facility,
                       product_line=shop.line)
    now = timezone.now()
    CommissionCredit.objects.bulk_create([
        CommissionCredit(organization=shop.org, rep=shop.seller, event=event, device=device,
                         kind="sale", amount=Decimal("1.00"), base_price=Decimal("10.00"),
                         rate=Decimal("0.1000"), stocking_share=Decimal("1"), created_at=now)
        for device in devices
    ])
    client.force_login(shop.admin)
    statement = reverse("commissions:statement")
    response = client.get(statement, {"rep": shop.seller.pk})
    assert len(response.context["credits"]) == STATEMENT_PAGE
    assert response.context["totals"]["total"] == Decimal(STATEMENT_PAGE + 5)
    html = response.content.decode()
    assert f"Credits 1–{STATEMENT_PAGE} of {STATEMENT_PAGE + 5}" in html

    second = client.get(statement, {"rep": shop.seller.pk, "page": 2})
    assert len(second.context["credits"]) == 5
    rows = list(csv.reader(io.StringIO(
        client.get(statement, {"rep": shop.seller.pk, "format": "csv"}).getvalue().decode())))
    assert len(rows) == 1 + STATEMENT_PAGE + 5


def test_name_ranks_read_the_organisations_own_rows_and_keep_name_order(shop):
    """The stock tables order rows by ranks of names (``reporting.selectors.sql.ranks``): only
    the organisation's facilities and products are ranked — ranking every organisation's
    catalogue cost the dashboard ~40 ms at a million devices — and the order is still the
    names' code-point order."""
    other = OrganizationFactory(name="Another distributor")
    for _ in range(3):
        FacilityFactory(organization=other)
        ProductFactory(organization=other)
    sql, params = ranks(shop.org.pk)
    [counts] = fetch(f"WITH {sql} SELECT (SELECT COUNT(*) FROM fs_fr) AS facilities, "
                     "(SELECT COUNT(*) FROM fs_pr) AS products", params)
    assert counts == {
        "facilities": Facility.objects.filter(organization=shop.org).count(),
        "products": Product.objects.filter(organization=shop.org).count(),
    }
    zed, alpha = shop.new_product(reference="ZZ-1"), shop.new_product(reference="AA-1")
    for product in (zed, alpha):
        ParLevelFactory(organization=shop.org, facility=shop.facility, product=product,
                        minimum=1)
    rows = stock_overview(Scope(organization_id=shop.org.pk), ReportFilters.default(),
                          limit=None)["stock"]
    references = [r["reference"] for r in rows if r["facility_id"] == shop.facility.pk]
    assert references == sorted(references) and {"AA-1", "ZZ-1"} <= set(references)
