"""Issue 31 in a real browser, as a rep: build a kit, loan it to St. Mary's for a case, use three
of its units on the case, submit for billing (the sales order lists them), check the kit in with
one unit missing (reported lost: a stock adjustment), replenish from the rep's own stock, and the
kit is complete again; the dashboard shows it out, then back. The ledger replays clean."""

import os
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from billing.documents import document_context
from events.models import Event, EventStatus
from inventory.kit_services import kit_template_create
from inventory.models import Device, DeviceStatus, Kit, StockAdjustment
from inventory.selectors import ledger_discrepancies
from tests.e2e.conftest import login
from tests.factories import (
    PASSWORD,
    AdminFactory,
    FacilityFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    receive,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _shot(page, name, phone=False):
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return
    page.screenshot(path=os.path.join(folder, f"{name}-1280.png"), full_page=True)
    if phone:
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=os.path.join(folder, f"{name}-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})


def _nav(page, name):
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name=name, exact=True).click()


def _dashboard_counts(page, live_server, out, overdue=0):
    page.goto(live_server.url + reverse("reporting:index"))
    expect(page.get_by_test_id("kits-out-count")).to_have_text(str(out))
    expect(page.get_by_test_id("kits-overdue-count")).to_have_text(str(overdue))


def test_rep_builds_loans_uses_checks_in_and_replenishes_a_kit(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org, username="admin")
    UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    rep = org.users.get(username="rep1")
    FacilityFactory(organization=org, name="St. Mary's")
    FacilityFactory(organization=org, name="Mercy General")
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540",
                           description="Pedicle screw 6.5 x 40 mm")
    plate = ProductFactory(product_line=line, organization=org, reference="PL-2",
                           description="Connector plate, 2 hole")
    kit_template_create(actor=admin, name="Pedicle Screw Set 6.5", product_line=line,
                        items=[(screw, 4), (plate, 2)])
    receive(custodian=rep, product=screw, lot="L-KIT", actor=admin,
            serials=["1001", "1002", "1003", "1004"], expires_in_days=400)
    receive(custodian=rep, product=plate, lot="P-KIT", actor=admin, serials=["2001", "2002"],
            expires_in_days=400)
    # The rep's spare stock: replenishment takes the longest dating first.
    receive(custodian=rep, product=screw, lot="L-SHORT", actor=admin, serials=["3001"],
            expires_in_days=60)
    receive(custodian=rep, product=screw, lot="L-LONG", actor=admin,
            serials=["3101", "3102", "3103"], expires_in_days=700)
    receive(custodian=rep, product=plate, lot="P-LONG", actor=admin, serials=["4101"],
            expires_in_days=700)

    login(page, live_server, "rep1", PASSWORD)
    _dashboard_counts(page, live_server, out=0)

    # 1. Build the kit: create it, then scan its units.
    _nav(page, "Kits")
    page.get_by_role("link", name="Build a kit").click()
    page.get_by_label("Template").select_option(label="Pedicle Screw Set 6.5")
    page.get_by_label("Tag").fill("PSS-100")
    page.get_by_role("button", name="Create kit").click()
    expect(page.get_by_role("heading", name=re.compile("Kit PSS-100"))).to_be_visible()
    expect(page.get_by_test_id("kit-state")).to_have_text("short")
    page.get_by_label("Scan units (one label or serial per line)").fill(
        "1001\n1002\n1003\n1004\n2001\n2002")
    page.get_by_role("button", name="Pack into PSS-100").click()
    expect(page.get_by_test_id("kit-state")).to_have_text("complete")
    expect(page.get_by_test_id("kit-units").locator("tbody tr")).to_have_count(6)
    _shot(page, "kit-page", phone=True)
    kit = Kit.objects.get(tag="PSS-100")

    # 2. Loan it to St. Mary's for today's case.
    page.get_by_role("link", name="Loan", exact=True).click()
    expect(page.get_by_role("checkbox", name=re.compile("^PSS-100"))).to_be_checked()
    page.get_by_label("Facility").select_option(label="St. Mary's")
    page.get_by_label("Name").fill("Loan – Dr. Okafor, L4-L5")
    page.get_by_role("button", name="Send on loan").click()
    expect(page.get_by_role("heading", name=re.compile("Loan – Dr. Okafor"))).to_be_visible()
    expect(page.get_by_test_id("loan-kits")).to_contain_text("On loan")
    _shot(page, "loan-page", phone=True)
    loan = Event.objects.get(event_type="loan")
    _dashboard_counts(page, live_server, out=1)
    _shot(page, "dashboard-kits-out")

    # 3. The case at St. Mary's uses three screws from the loaned kit.
    _nav(page, "Events")
    page.get_by_role("link", name="Create Event").click()
    page.get_by_label("Event Type").select_option(label="Case")
    page.get_by_label("Name").fill("Lumbar fusion, OR 2")
    page.get_by_label("Date").fill(timezone.localdate().isoformat())
    page.get_by_label("Facility", exact=True).select_option(label="St. Mary's")
    page.get_by_label("Manufacturer").select_option(label="Acme Spine")
    page.get_by_label("Product line").select_option(label="Spine – Pedicle Screws")
    page.get_by_label("Patient ID").fill("PT-31031")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="Mark Used Inventory").click()
    for serial in ("1001", "1002", "1003"):
        search = page.get_by_label("Search devices")
        page.wait_for_function("() => !document.querySelector("
                               "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
        search.fill(serial)
        results = page.get_by_test_id("search-results")
        results.get_by_role("button", name=f"Add SN {serial}").click()
        expect(page.get_by_test_id("lines-table").get_by_role("cell", name=serial, exact=True)
               ).to_be_visible()
    page.get_by_label("Signature (type your full name)").fill("Riley One")
    page.get_by_label(re.compile("^I attest")).check()
    page.get_by_role("button", name="Submit For Billing").click()
    expect(page.get_by_test_id("event-status")).to_have_text("Pending PO")
    case = Event.objects.get(name="Lumbar fusion, OR 2")
    rows = document_context(case.sales_order)["rows"]
    assert sorted(r["line"].device.serial for r in rows) == ["1001", "1002", "1003"]
    assert Event.objects.get(pk=loan.pk).status == EventStatus.ON_LOAN  # loaned, not sold

    # 4. Check the kit in: one screw back, one plate back, one plate missing — reported lost.
    page.goto(live_server.url + reverse("inventory:kit_detail", args=[kit.pk]))
    page.get_by_role("link", name="Check in").click()
    used = page.get_by_test_id("check-in-used")
    expect(used).to_contain_text("SN 1001")
    expect(used).to_contain_text("Lumbar fusion, OR 2")
    page.get_by_label("Scan what is in the kit (one label or serial per line)").fill("1004\n2001")
    page.get_by_role("button", name="Close check-in").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text(
        "SN 2002 is unaccounted for: scan it back, charge it to a case or report it lost.")
    assert Kit.objects.get(pk=kit.pk).status == Kit.Status.LOANED  # nothing changed
    _shot(page, "kit-check-in", phone=True)
    page.get_by_label("SN 2002 is lost").check()
    page.get_by_label("Scan what is in the kit (one label or serial per line)").fill("1004\n2001")
    page.get_by_role("button", name="Close check-in").click()
    expect(page.get_by_text("PSS-100 checked in: 2 unit(s) back; 1 reported lost.")).to_be_visible()
    expect(page.get_by_test_id("kit-state")).to_have_text("short")
    lost = Device.objects.get(serial="2002")
    assert lost.status == DeviceStatus.REMOVED and lost.kit is None
    assert StockAdjustment.objects.get(reason="lost").lines.get().device == lost
    _dashboard_counts(page, live_server, out=0)

    # 5. Replenish from the rep's own stock: longest dating first; accept; complete again.
    page.goto(live_server.url + reverse("inventory:kit_detail", args=[kit.pk]))
    page.get_by_label("Replacement units from").select_option(label="Riley One (rep1, Rep)")
    page.get_by_role("button", name="Replenish").click()
    units = page.get_by_test_id("refill-units")
    for serial in ("SN 3101", "SN 3102", "SN 3103", "SN 4101"):
        expect(units).to_contain_text(serial)
    expect(units).not_to_contain_text("SN 3001")
    _shot(page, "kit-replenish")
    page.get_by_test_id("refill-drafted").get_by_role("link").click()
    page.get_by_role("button", name="Accept").click()
    page.goto(live_server.url + reverse("inventory:kit_detail", args=[kit.pk]))
    expect(page.get_by_test_id("kit-state")).to_have_text("complete")
    expect(page.get_by_test_id("kit-units").locator("tbody tr")).to_have_count(6)
    _nav(page, "Kits")
    expect(page.get_by_test_id("kits")).to_contain_text("complete")
    _shot(page, "kit-list", phone=True)
    assert list(ledger_discrepancies()) == []
