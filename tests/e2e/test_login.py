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


@pytest.mark.parametrize("width", [1280, 390])
def test_the_login_page_warns_before_the_lock(page, live_server, width, tmp_path):
    """Issue 23.1: after a wrong password the page says how many tries are left; a colleague
    behind the same address still logs in after the lock."""
    from django.conf import settings

    page.set_viewport_size({"width": width, "height": 900})
    UserFactory(username="rep1", first_name="Riley")
    UserFactory(username="rep2", first_name="Robin")
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(1, limit - 1):
        login(page, live_server, "rep1", "wrong")
        left = limit - attempt
        expect(page.get_by_test_id("lockout-warning")).to_have_text(
            f"{left} attempts left before this account is locked for 15 minutes.")
    warning = page.get_by_test_id("lockout-warning")
    expect(warning).to_have_text("2 attempts left before this account is locked for 15 minutes.")
    box = warning.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # on screen at 390 px too
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=tmp_path / f"login-lockout-warning-{width}.png")  # docs/screenshots
    login(page, live_server, "rep1", "wrong")
    expect(warning).to_have_text("1 attempt left before this account is locked for 15 minutes.")
    login(page, live_server, "rep1", "wrong")
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    login(page, live_server, "rep2", PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Robin")).to_be_visible()
