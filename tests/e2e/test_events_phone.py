"""The "Mark Used Inventory" tab on a phone (390 × 844): nothing overflows horizontally."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from events.services import event_add_devices
from tests.e2e.conftest import login
from tests.factories import (
    PASSWORD,
    AdminFactory,
    FacilityFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    make_event,
    receive,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# The committed picture is refreshed with SCREENSHOT_DIR=docs/screenshots; a normal run keeps
# its picture in the test's temporary folder so the working tree stays clean.
SCREENSHOT_NAME = "mark-used-inventory-phone.png"


def test_mark_used_inventory_tab_fits_a_phone(page, live_server, tmp_path):
    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org)
    rep = UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    facility = FacilityFactory(organization=org, name="St. Mary's Regional Medical Center")
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540",
                           description="Polyaxial pedicle screw, titanium, 6.5 x 40 mm")
    cage = ProductFactory(product_line=line, organization=org, reference="TLIF-1032",
                          description="TLIF interbody cage, PEEK, 10 x 32 mm, lordotic 6°")
    screws = receive(custodian=rep, product=screw, lot="L24A-00917", actor=admin,
                     serials=[f"SN-2026-{n:05d}" for n in range(1, 7)])
    cages = receive(custodian=rep, product=cage, lot="L24C-11872", actor=admin,
                    serials=["CG-88410017", "CG-88410018"])
    case = make_event(actor=rep, representative=rep, facility=facility, product_line=line,
                      event_type="case", name="Lumbar fusion L4-L5, OR 3",
                      patient_id="PT-20931", surgeon="Dr. Okafor")
    event_add_devices(actor=rep, event=case, devices=[screws[0], screws[1], cages[0]])

    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/events/{case.pk}/?tab=used")
    expect(page.get_by_label("Show Facility Stock items only")).to_be_visible()
    expect(page.get_by_label("Scan a UDI label")).to_be_visible()
    expect(page.get_by_test_id("search-results").get_by_role("button", name="Add")).to_have_count(5)
    expect(page.get_by_test_id("lines-total")).to_have_text("$3,000.00")
    page.get_by_label("Scan a UDI label").fill("(01)00000000000017(21)X")
    page.get_by_label("Scan a UDI label").press("Enter")
    expect(page.get_by_test_id("scan-error")).to_contain_text("Unknown GTIN")
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-responsive'))
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 15)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / SCREENSHOT_NAME), full_page=True)
    assert (folder / SCREENSHOT_NAME).stat().st_size > 10_000
