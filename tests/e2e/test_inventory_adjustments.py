"""Browser: find facility stock by search, add it to a stock adjustment, and a refused CSV."""

import pytest
from playwright.sync_api import expect

from inventory.models import Device, DeviceStatus
from tests.e2e.conftest import login
from tests.events.conftest import build_world
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_move_facility_stock_found_by_search_then_a_refused_csv(page, live_server, tmp_path):
    world = build_world()
    shelf = world.facility_stock(1, facility=world.st_marys)[0]
    login(page, live_server, world.admin.username, PASSWORD)

    page.goto(f"{live_server.url}/inventory/adjustments/new/")
    page.get_by_label("Find devices").fill(shelf.serial)
    results = page.get_by_test_id("search-results")
    expect(results).to_contain_text("Facility stock")
    results.get_by_role("button", name="Add").click()
    expect(page.get_by_label("Devices", exact=True)).to_have_value(f"{shelf.udi}\n")
    page.get_by_label("Reason").select_option(label="Facility correction")
    page.get_by_label("Effect").select_option(label="Move to another facility")
    page.get_by_label("To facility").select_option(label="Mercy General")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.get_by_test_id("adjustment-lines")).to_contain_text("Mercy General")
    shelf.refresh_from_db()
    assert shelf.facility == world.mercy and shelf.status == DeviceStatus.FACILITY_STOCK

    path = tmp_path / "devices.csv"
    path.write_text("gtin,lot,serial,expiration_date,custodian\n"
                    f"{world.product.gtin},L1,X-1,2099-01-01,{world.rep.username}\n"
                    f"{world.product.gtin},L1,X-2,31/12/2099,{world.rep.username}\n")
    page.goto(f"{live_server.url}/inventory/receiving/import/")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-refused")).to_contain_text("1 problem")
    expect(page.get_by_test_id("import-errors")).to_contain_text("bad expiration date")
    assert not Device.objects.filter(serial__startswith="X-").exists()


def test_found_with_remove_is_refused_in_the_browser(page, live_server):
    """Issue 23 point 5: no default effect; "Found" + "Remove" is refused under the effect and
    the unit stays facility stock."""
    world = build_world()
    shelf = world.facility_stock(1, facility=world.st_marys)[0]
    login(page, live_server, world.admin.username, PASSWORD)
    page.goto(f"{live_server.url}/inventory/adjustments/new/")
    expect(page.get_by_label("Effect")).to_have_value("")
    page.get_by_label("Devices", exact=True).fill(shelf.serial)
    page.get_by_label("Reason").select_option(label="Found")
    page.get_by_label("Effect").select_option(label="Remove")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.locator(".invalid-feedback").first).to_contain_text(
        "The reason “Found” contradicts the effect “Remove”")
    shelf.refresh_from_db()
    assert shelf.status == DeviceStatus.FACILITY_STOCK
