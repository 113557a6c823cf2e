"""Issue 23 in a real browser (points 2, 3, 4, 6): the home page's "Needs attention", every main
page at 390 px without page-level horizontal scroll, All Inventory's cards and the dashboard's
tables readable on a phone, the billing queue at 1280 px, and the Mark Used search."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.submit import event_submit_for_billing
from commissions.models import CommissionPlan
from events.models import Event
from inventory.models import Device, Transfer
from tests.e2e.conftest import login
from tests.events.conftest import build_world
from tests.events.test_mark_used_search import cages_order
from tests.factories import PASSWORD
from tests.reporting.test_home import busy_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def page_overflow(page) -> int:
    """How far the page itself scrolls sideways (0: it fits). A table's own scroller may."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def busy(w=None):
    w = w or build_world()
    busy_world(w)
    return w


def main_pages(w) -> dict[str, list[str]]:
    """Every main page, per user: lists, forms, an event, a device, a transfer, the reports."""
    order = Event.objects.filter(representative=w.rep, event_type="stocking_order").first()
    draft = Event.objects.filter(representative=w.rep, status="draft").first()
    device = Device.objects.filter(facility=w.st_marys).first()
    transfer = Transfer.objects.filter(to_custodian=w.rep).first()
    shared = ["/", "/events/", f"/events/{order.pk}/", f"/events/{order.pk}/?tab=used",
              "/inventory/", f"/inventory/devices/{device.pk}/", "/inventory/transfers/",
              f"/inventory/transfers/{transfer.pk}/", "/inventory/kits/",
              "/inventory/adjustments/", "/facilities/", f"/facilities/{w.st_marys.pk}/",
              "/reports/", "/reports/sales/", "/reports/usage/", "/reports/replenishment/",
              "/reports/commissions/statement/"]
    return {
        w.rep.username: [*shared, f"/events/{draft.pk}/?tab=used", "/events/new/",
                         "/inventory/transfers/new/"],
        w.admin.username: [*shared, "/events/billing/", "/inventory/adjustments/new/",
                           "/inventory/receiving/", "/inventory/receiving/scan/",
                           "/inventory/receiving/import/", "/reports/commissions/plans/",
                           f"/inventory/recall/?manufacturer={w.maker.pk}&lot=LOT-A",
                           "/events/kit-utilisation/"],
        w.manager.username: ["/", "/events/billing/", "/reports/", "/inventory/"],
    }


def test_every_main_page_fits_a_phone(page, live_server):
    """No page scrolls sideways at 390 px (a table may scroll inside its own box)."""
    w = busy()
    wide = []
    for username, paths in main_pages(w).items():
        page.context.clear_cookies()
        page.set_viewport_size(PHONE)
        login(page, live_server, username, PASSWORD)
        for path in paths:
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, (username, path, response.status)
            page.wait_for_load_state("networkidle")
            if page_overflow(page) > 0:
                wide.append(f"{username} {path}: {page_overflow(page)} px too wide")
    assert wide == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_home_lists_what_needs_attention(page, live_server, viewport):
    w = busy()
    page.set_viewport_size(viewport)
    login(page, live_server, w.rep.username, PASSWORD)
    page.goto(f"{live_server.url}/")
    attention = page.get_by_test_id("attention")
    expect(attention.get_by_test_id("attention-transfers-count")).to_have_text("1")
    expect(attention.get_by_test_id("attention-drafts-count")).to_have_text("2")
    expect(attention.get_by_test_id("attention-kits-count")).to_have_text("1")
    expect(attention.get_by_test_id("attention-low-count")).to_have_text("1")
    expect(attention.get_by_test_id("attention-expiring")).to_contain_text(
        "1 already expired at your facilities")
    assert page_overflow(page) <= 0
    attention.get_by_test_id("attention-transfers").click()
    expect(page.get_by_role("heading", name="Transfers")).to_be_visible()
    page.go_back()
    attention.get_by_test_id("attention-low").click()
    expect(page.get_by_test_id("low-stock")).to_contain_text("St. Mary's")


def test_all_inventory_cards_and_dashboard_tables_are_readable_on_a_phone(page, live_server):
    w = build_world()
    CommissionPlan.objects.create(organization=w.org, rate=Decimal("0.1000"))  # a commission row
    busy(w)
    page.set_viewport_size(PHONE)
    login(page, live_server, w.admin.username, PASSWORD)
    page.goto(f"{live_server.url}/inventory/?status=facility_stock")
    card = page.get_by_test_id("devices").locator("tbody tr").first
    description = card.locator('td[data-label="Description"]')
    expect(description).to_be_visible()
    expect(description).to_have_text(w.product.description)
    page.goto(f"{live_server.url}/reports/")
    for table, label in (("low-table", "Short by"), ("monthly-table", "Used value"),
                         ("commissions-table", "Total"), ("stock-table", "Status")):
        cell = page.get_by_test_id(table).locator(f'tbody tr td[data-label="{label}"]').first
        cell.scroll_into_view_if_needed()
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (table, box)
        shown = cell.evaluate("c => getComputedStyle(c, '::before').content")
        assert shown == f'"{label}"', (table, shown)
    assert page_overflow(page) <= 0


def test_billing_queue_fits_1280_with_record_po_in_view(page, live_server):
    w = build_world()
    for n in range(3):
        # As long as the demo's names ("Stocking Valley Spine & Joint ASC #12"): the issue saw
        # such names wrap over five lines.
        order = w.event("stocking_order", name=f"Stocking St. Mary's Medical Center #{n}")
        w.add(order, w.devices(2))
        event_submit_for_billing(actor=w.admin, event=order, signature_name="Ada Admin")
    page.set_viewport_size(DESKTOP)
    login(page, live_server, w.admin.username, PASSWORD)
    page.goto(f"{live_server.url}/events/billing/")
    queue = page.get_by_test_id("billing-queue")
    widths = queue.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    assert widths[0] <= widths[1], widths  # the table fits its box: nothing scrolls
    assert page_overflow(page) <= 0
    record = queue.get_by_role("link", name="Record PO").first
    expect(record).to_be_in_viewport()
    assert record.bounding_box()["x"] + record.bounding_box()["width"] <= DESKTOP["width"]
    name = queue.locator('td[data-label="Event"] a').first
    lines = name.evaluate(
        "a => Math.round(a.getBoundingClientRect().height / parseFloat(getComputedStyle(a)"
        ".lineHeight))")
    assert lines <= 2, lines


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_mark_used_orders_by_line_says_what_it_hid_and_flags_expiry(page, live_server,
                                                                    viewport):
    w = build_world()
    event = cages_order(w)
    page.set_viewport_size(viewport)
    login(page, live_server, w.rep.username, PASSWORD)
    page.goto(f"{live_server.url}/events/{event.pk}/?tab=used")
    page.get_by_label("Search devices").fill("cage 10")
    results = page.get_by_test_id("search-results")
    expect(results.get_by_test_id("search-hidden")).to_have_text(
        "3 matches from other manufacturers are hidden: this event is for Acme Spine.")
    expect(results.get_by_role("button", name="Add")).to_have_count(2)
    expect(results.get_by_test_id("expires-soon")).to_have_text("Expires in 5 days")
    page.get_by_label("Search devices").fill("")
    page.get_by_label("Search devices").press("Enter")
    adds = results.get_by_role("button", name="Add")
    expect(adds).to_have_count(4)
    labels = [adds.nth(i).get_attribute("aria-label") for i in range(4)]
    assert labels == ["Add SN C-SOON", "Add SN C-1", "Add SN S-1", "Add SN S-2"]
    assert page_overflow(page) <= 0
