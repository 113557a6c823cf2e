"""Issue 25.4: the regional manager logs in, sees their region's inventory and dashboard only,
at 1280 and 390 px, and cannot act."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from consignment.models import Region
from consignment.services import region_save
from tests.e2e.conftest import login
from tests.events.conftest import build_world
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_regional_manager_sees_their_region_only_and_cannot_act(page, live_server, width,
                                                                   tmp_path):
    w = build_world()
    UserFactory(organization=w.org, username="regional", role=User.Role.REGIONAL_MANAGER,
                first_name="Robin", last_name="Regional")
    rhea = User.objects.get(username="regional")
    region_save(actor=w.admin, region=Region(organization=w.org, name="North"),
                facilities=[w.st_marys], members=[w.rep, rhea])
    region_save(actor=w.admin, region=Region(organization=w.org, name="South"),
                facilities=[w.mercy], members=[w.rep2])
    north = w.devices(2, serials=["SN-NORTH-1", "SN-NORTH-2"])
    w.stocking_order([north[1]])
    south = w.devices(2, custodian=w.rep2, serials=["SN-SOUTH-1", "SN-SOUTH-2"])
    w.stocking_order([south[1]], facility=w.mercy, rep=w.rep2)

    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "regional", PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Robin")).to_be_visible()

    page.goto(f"{live_server.url}/inventory/")
    table = page.locator("main")
    expect(table.get_by_text("SN-NORTH-1")).to_be_visible()
    expect(table.get_by_text("SN-NORTH-2")).to_be_visible()
    expect(table.get_by_text("SN-SOUTH-1")).to_have_count(0)
    expect(table.get_by_text("SN-SOUTH-2")).to_have_count(0)
    expect(page.locator("a[href='/inventory/transfers/new/']")).to_have_count(0)
    expect(page.locator("a[href='/events/new/']")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=tmp_path / f"regional-all-inventory-{width}.png", full_page=True)

    page.goto(f"{live_server.url}/reports/")
    expect(page.get_by_text("your region: its facilities and its reps")).to_be_visible()
    expect(page.locator("main table").get_by_text("St. Mary's").first).to_be_visible()
    expect(page.locator("main").get_by_text("Mercy General")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=tmp_path / f"regional-dashboard-{width}.png", full_page=True)

    # Another region's device: not found. A write: refused, nothing changed.
    assert page.goto(f"{live_server.url}/inventory/devices/{south[0].pk}/").status == 404
    page.goto(f"{live_server.url}/events/new/")
    expect(page.get_by_text("Regional managers can look at their region but change nothing")
           ).to_be_visible()
