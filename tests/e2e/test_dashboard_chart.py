"""In a real browser: the dashboard draws its chart from json_script data (CSP: no inline
scripts) and nothing overflows at desktop or phone width."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import PASSWORD
from tests.reporting.conftest import build_shop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_dashboard_draws_its_chart_without_overflow(page, live_server, width):
    shop = build_shop()
    shop.par(shop.product, 5)
    devices = shop.receive(4)
    shop.stock(devices)
    shop.use(devices[:1])
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "boss", PASSWORD)
    page.goto(f"{live_server.url}/reports/")
    expect(page.get_by_role("heading", name="Facility Stock Sales")).to_be_visible()
    expect(page.locator("canvas[data-chart='chart-monthly']")).to_have_attribute(
        "data-drawn", "1")
    expect(page.get_by_test_id("low-stock")).to_contain_text("St. Mary's")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    assert errors == []  # no CSP violations, no script errors
