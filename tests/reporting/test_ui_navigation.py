"""Reports as a manager and an admin find them: linked from Events, a statement shown at once,
read-only suggestions for managers, one money format with the currency (CSV: plain numbers)."""

import subprocess

import pytest
from django.urls import reverse

from tests.commissions.test_plans_and_statements import STATEMENT, _sixty_forty

pytestmark = pytest.mark.django_db


def test_events_link_to_sales_reporting(client, shop):
    client.force_login(shop.manager)
    html = client.get(reverse("events:list")).content.decode()
    assert f'href="{reverse("reporting:index")}" data-testid="sales-reporting">Sales reporting<' \
        in html


def test_statement_shows_the_current_month_of_the_first_rep_without_pressing_show(client, shop):
    _sixty_forty(shop)
    client.force_login(shop.manager)
    response = client.get(STATEMENT)
    html = response.content.decode()
    assert response.context["rep"] == shop.coverer  # Sam Cover: first by last name
    assert 'data-testid="statement"' in html
    assert 'data-testid="total-use">$40.00<' in html
    # The event column: its name once, the type after it, not "Case Case".
    assert "Case <span" in html and "Case Case" not in html


def test_statement_pdf_shows_money_with_the_currency(client, shop):
    shop.org.currency = "EUR"
    shop.org.save()
    _sixty_forty(shop)
    client.force_login(shop.admin)
    pdf = client.get(STATEMENT, {"rep": shop.seller.pk, "format": "pdf"}).content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    assert "€60.00" in text
    csv_text = client.get(STATEMENT, {"rep": shop.seller.pk, "format": "csv"}).getvalue().decode()
    assert "60.00" in csv_text and "€" not in csv_text and "$" not in csv_text


def test_manager_sees_suggested_quantities_read_only(client, shop):
    product = shop.new_product(reference="MS-00077")
    shop.par(product, 4)
    url = reverse("reporting:replenishment")
    client.force_login(shop.manager)
    html = client.get(url, {"facility": shop.facility.pk}).content.decode()
    assert "MS-00077" in html and 'data-testid="read-only-note"' in html
    assert 'name="qty_' not in html and "Create Stocking Order</button>" not in html
    assert '<span data-testid="suggested">4</span>' in html
    client.force_login(shop.admin)
    html = client.get(url, {"facility": shop.facility.pk, "rep": shop.seller.pk}).content.decode()
    assert 'name="qty_' in html and 'data-testid="read-only-note"' not in html
