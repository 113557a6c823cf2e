"""The help article, Parts 1 and 2, in a real browser: a Stocking Order sells devices to a
facility; a Case later records the use of that facility stock."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.submit import event_submit_for_billing
from events.models import Event, EventStatus
from events.services import event_add_devices
from inventory.models import Device, DeviceStatus
from inventory.udi import udi_raw
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


def _logout(page):
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()


def _setup():
    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org, username="admin", first_name="Ada", last_name="Admin")
    rep1 = UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    rep2 = UserFactory(organization=org, username="rep2", first_name="Robin", last_name="Two")
    mercy = FacilityFactory(organization=org, name="Mercy General")
    st_marys = FacilityFactory(organization=org, name="St. Mary's")
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540",
                           description="Pedicle screw 6.5 x 40 mm")
    sold = receive(custodian=rep1, product=screw, lot="L24A", actor=admin,
                   serials=["4471", "4472", "4473"])
    receive(custodian=rep1, product=screw, lot="L24A", actor=admin, serials=["4474"])
    rep2_own = receive(custodian=rep2, product=screw, lot="L24B", actor=admin, serials=["5001"])
    # Facility stock of another facility (sold earlier by another stocking order).
    elsewhere = receive(custodian=rep1, product=screw, lot="L24C", actor=admin, serials=["6001"])
    other_so = make_event(actor=admin, representative=rep1, facility=mercy, product_line=line,
                          name="Mercy restock")
    event_add_devices(actor=admin, event=other_so, devices=elsewhere)
    event_submit_for_billing(actor=admin, event=other_so, signature_name="Ada Admin")
    return {"admin": admin, "rep1": rep1, "rep2": rep2, "facility": st_marys, "mercy": mercy,
            "line": line, "screw": screw, "sold": sold, "rep2_own": rep2_own[0],
            "elsewhere": elsewhere[0]}


def _fill_common(page, w, *, event_type, name):
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Events", exact=True).click()
    page.get_by_role("link", name="Create Event").click()
    page.get_by_label("Event Type").select_option(label=event_type)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Date").fill(timezone.localdate().isoformat())
    page.get_by_label("Facility", exact=True).select_option(label=w["facility"].name)
    page.get_by_label("Manufacturer").select_option(label="Acme Spine")
    options = page.locator("#id_product_line option", has_text="Spine – Pedicle Screws")
    expect(options).to_have_count(1)
    page.get_by_label("Product line").select_option(label="Spine – Pedicle Screws")


def _mark_by_search(page, text, serial):
    search = page.get_by_label("Search devices")
    # The panel was just swapped in: wait until htmx has settled it before typing.
    page.wait_for_function("() => !document.querySelector("
                           "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
    search.fill(text)
    results = page.get_by_test_id("search-results")
    expect(results.get_by_text(f"SN {serial}")).to_be_visible()
    results.get_by_role("button", name=f"Add SN {serial}").click()
    expect(page.get_by_test_id("lines-table").get_by_role("cell", name=serial, exact=True)
           ).to_be_visible()


def _submit(page, name):
    page.get_by_label("Signature (type your full name)").fill(name)
    page.get_by_label(re.compile("^I attest")).check()
    button = page.get_by_role("button", name="Submit For Billing")
    button.dblclick()  # a double-click submits once


def test_stocking_order_then_case_with_facility_stock(page, live_server):
    w = _setup()
    sold_serials = ["4471", "4472", "4473"]

    # Part 1: the admin creates a Stocking Order for rep1 and marks three of rep1's devices.
    login(page, live_server, "admin", PASSWORD)
    _fill_common(page, w, event_type="Stocking Order", name="St. Mary's shelf stock")
    expect(page.get_by_label("Patient ID")).to_be_hidden()
    page.get_by_label("Representative").select_option(label="Riley One")
    page.get_by_role("button", name="Add New").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Nora Nurse")
    dialog.get_by_label("Title").fill("Materials manager")
    dialog.get_by_role("button", name="Add contact").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Facility contact", exact=True)).to_have_value(
        str(w["facility"].contacts.get(name="Nora Nurse").pk))
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="St. Mary's shelf stock")).to_be_visible()
    page.get_by_role("link", name="Mark Used Inventory").click()
    for serial in sold_serials:
        _mark_by_search(page, serial, serial)
    expect(page.get_by_test_id("lines-total")).to_have_text("$3,000.00")
    _submit(page, "Ada Admin")
    expect(page.get_by_test_id("event-status")).to_have_text("Pending PO")
    expect(page.get_by_test_id("billing-panel")).to_be_visible()
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    expect(page.get_by_test_id("device-now")).to_have_text(
        ["Facility stock · St. Mary's"] * 3)
    stocking = Event.objects.get(name="St. Mary's shelf stock")
    assert stocking.status == EventStatus.PENDING_PO
    assert stocking.representative == w["rep1"]
    assert stocking.sales_order.number  # one sales order, despite the double-click
    for device in Device.objects.filter(serial__in=sold_serials):
        assert device.status == DeviceStatus.FACILITY_STOCK
        assert device.facility == w["facility"] and device.sold_on == stocking
    _logout(page)

    # Part 2: rep2 records a case that used the facility stock.
    login(page, live_server, "rep2", PASSWORD)
    _fill_common(page, w, event_type="Case", name="Lumbar fusion, OR 3")
    expect(page.get_by_label("Representative")).to_be_disabled()
    page.get_by_label("Patient ID").fill("PT-20931")
    page.get_by_label("Surgeon").fill("Dr. Okafor")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="Mark Used Inventory").click()
    page.get_by_label("Show Facility Stock items only").check()
    expect(page.get_by_text("Facility stock of St. Mary's.")).to_be_visible()
    results = page.get_by_test_id("search-results")
    expect(results.get_by_text("SN 4471")).to_be_visible()
    expect(results.get_by_text("SN 5001")).to_have_count(0)  # rep2's own bag: not offered
    expect(results.get_by_text("SN 6001")).to_have_count(0)  # Mercy General's shelf

    _mark_by_search(page, "4471", "4471")
    _mark_by_search(page, "PS-6540 4473", "4473")
    # ... and by scanning the label of the second one: raw GS1, as a scanner types it.
    second = Device.objects.get(serial="4472")
    scan = page.get_by_label("Scan a UDI label")
    scan.press_sequentially(udi_raw(w["screw"].gtin, second.expiration_date, second.lot, "4472"))
    scan.press("Enter")
    expect(page.get_by_test_id("panel-notice")).to_have_text("Scanned and added SN 4472.")
    lines = page.get_by_test_id("lines-table")
    expect(lines.get_by_text("No charge")).to_have_count(3)
    expect(page.get_by_test_id("lines-total")).to_have_count(0)  # not billed again
    # The third device stays on the shelf: remove it again.
    lines.get_by_role("button", name="Remove SN 4473").click()
    expect(lines.get_by_text("No charge")).to_have_count(2)

    # (c) Rep inventory and another facility's stock are refused, and nothing changes.
    case = Event.objects.get(name="Lumbar fusion, OR 3")
    own, elsewhere = w["rep2_own"], w["elsewhere"]
    scan = page.get_by_label("Scan a UDI label")
    scan.press_sequentially(udi_raw(w["screw"].gtin, own.expiration_date, own.lot, own.serial))
    scan.press("Enter")
    expect(page.get_by_test_id("scan-error")).to_contain_text(
        "SN 5001 is rep inventory, not facility stock")
    scan = page.get_by_label("Scan a UDI label")
    scan.fill(elsewhere.build_udi())
    scan.press("Enter")
    expect(page.get_by_test_id("scan-error")).to_contain_text(
        "SN 6001 is facility stock of Mercy General and can't be used at St. Mary's")
    assert set(case.lines.values_list("device__serial", flat=True)) == {"4471", "4472"}
    own.refresh_from_db()
    elsewhere.refresh_from_db()
    assert own.status == DeviceStatus.AVAILABLE and own.custodian == w["rep2"]
    assert elsewhere.status == DeviceStatus.FACILITY_STOCK and elsewhere.facility == w["mercy"]
    expect(lines.get_by_text("No charge")).to_have_count(2)

    _submit(page, "Robin Two")
    expect(page.get_by_test_id("event-status")).to_have_text("Closed")
    expect(page.get_by_test_id("device-now")).to_have_text(["Consumed", "Consumed"])
    case.refresh_from_db()
    assert case.status == EventStatus.CLOSED and case.signature_name == "Robin Two"
    statuses = dict(Device.objects.filter(serial__in=sold_serials).values_list("serial", "status"))
    assert statuses == {"4471": DeviceStatus.CONSUMED, "4472": DeviceStatus.CONSUMED,
                        "4473": DeviceStatus.FACILITY_STOCK}
    assert Device.objects.get(serial="4471").used_in == case


def test_a_contact_saved_while_the_dialog_still_fades_in_closes_it(page, live_server):
    """Bootstrap ignores hide() during the dialog's fade-in; a contact saved that fast (the
    server's "contact created" trigger arriving then) still closes the dialog once it is shown.
    CI once saw the dialog stay open."""
    _setup()
    login(page, live_server, "admin", PASSWORD)
    page.goto(f"{live_server.url}/events/new/")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_hidden()
    page.evaluate("""() => {
        const modal = document.getElementById("contact-modal");
        window.bootstrap.Modal.getOrCreateInstance(modal).show();
        document.body.dispatchEvent(new Event("fs:contact-created", {bubbles: true}));
    }""")
    expect(dialog).to_be_hidden()
    # And the dialog still opens and closes as usual afterwards.
    page.evaluate("""() => window.bootstrap.Modal.getOrCreateInstance(
        document.getElementById("contact-modal")).show()""")
    expect(dialog).to_be_visible()
    page.evaluate("""() => document.body.dispatchEvent(
        new Event("fs:contact-created", {bubbles: true}))""")
    expect(dialog).to_be_hidden()
