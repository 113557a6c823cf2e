"""Issue 15, reports: net sales count returns; the dashboard's commissions show clawbacks; the
device page and the recall trace show the return."""

from decimal import Decimal

import pytest
from django.urls import reverse

from commissions.models import CommissionPlan
from core.formatting import format_money
from inventory.models import Device
from reporting import selectors
from reporting.selectors import ReportFilters, Scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def returned(world):
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"),
                                  stocking_share=Decimal("0.60"))
    devices = world.facility_stock(3)  # 3 × 1,000.00 sold by rep
    ret = world.event("return", name="Back from the hospital")
    world.add(ret, [devices[0]])
    world.submit(ret)
    return ret, devices


def test_sales_report_counts_net_sales(client, world, returned):
    scope, filters = Scope(world.org.pk), ReportFilters.default()
    totals = selectors.sales_totals(scope, filters)
    assert (totals["units"], totals["revenue"], totals["returns"]) == (
        2, Decimal("2000.00"), Decimal("-1000.00"))
    [row] = selectors.sales_by(scope, filters, "facility")
    assert (row["label"], row["units"], row["stocking"], row["returns"], row["revenue"]) == (
        "St. Mary's", 2, Decimal("3000.00"), Decimal("-1000.00"), Decimal("2000.00"))
    client.force_login(world.admin)
    html = client.get(reverse("reporting:sales")).content.decode()
    assert 'data-testid="sales-total">$2,000.00<' in html
    assert f'data-testid="returns">{format_money(Decimal("-1000.00"))}<' in html


def test_dashboard_commissions_show_the_clawback(client, world, returned):
    rows = selectors.facility_stock_commissions(Scope(world.org.pk), ReportFilters.default())
    assert [(r["at_sale"], r["clawed_back"], r["total"]) for r in rows] == [
        (Decimal("180.00"), Decimal("-60.00"), Decimal("120.00"))]
    client.force_login(world.manager)
    html = client.get(reverse("reporting:index")).content.decode()
    assert f'data-testid="clawed-back">{format_money(Decimal("-60.00"))}<' in html


def test_device_page_and_recall_trace_show_the_return(client, world, returned):
    ret, devices = returned
    client.force_login(world.admin)
    html = client.get(reverse("inventory:device_detail", args=[devices[0].pk])).content.decode()
    assert "Returned by the facility to the rep (return)" in html
    assert ret.name in html
    device = Device.objects.get(pk=devices[0].pk)
    html = client.get(reverse("inventory:recall_trace"), {
        "gtin": device.product.gtin, "lot": device.lot}).content.decode()
    assert f"Returned by {ret.name}" in html
