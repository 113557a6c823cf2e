import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rep_logs_in_sees_navigation_and_logs_out(page, live_server):
    UserFactory(username="rep1", first_name="Riley")
    login(page, live_server, "rep1", PASSWORD)
    nav = page.get_by_role("navigation", name="Main navigation")
    for label in ["Events", "All Inventory", "Transfers", "Stock Adjustments", "Reports"]:
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Welcome, Riley")).to_be_visible()
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto(f"{live_server.url}/events/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
