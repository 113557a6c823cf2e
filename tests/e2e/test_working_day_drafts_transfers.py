"""Issue 23, points 7–10 and the smaller points, in a real browser (Chromium), at 1280 and 390 px
where the layout is the point: drafts (Create lands on the Mark Used tab, Back + Create makes no
second draft, the header is editable), Swap pairs and a Return's words, transfers (no self as
recipient, descriptions, scan box, take back), report rows that lead somewhere and a low-stock
row that drafts the stocking order, the searchable Product filter, the import template."""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from events.models import Event, EventType
from events.services import swap_expiring_create
from inventory.models import Device, Transfer
from inventory.udi import udi_hri
from tests.e2e.conftest import login
from tests.events.conftest import build_world, in_days
from tests.factories import (
    PASSWORD,
    FacilityContactFactory,
    ParLevelFactory,
    ProductFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def patient_navigation(page):
    """Eight engineers share two cores: page loads may take long (nothing here is timed)."""
    page.set_default_navigation_timeout(90_000)


def _shot(page, name):
    """docs/screenshots/<name>.png when SCREENSHOT_DIR is set (scripts refresh them)."""
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOT_DIR"], f"{name}.png"), full_page=True
        )


def _no_page_scroll(page):
    """Nothing sticks out sideways at phone width (a table may scroll in its own box)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


# --- 9. drafts -----------------------------------------------------------------------------------


def test_create_lands_on_mark_used_back_then_create_finds_the_draft(page, live_server):
    world = build_world()
    world.rep.username = "rep1"
    world.rep.save(update_fields=["username"])
    contact = FacilityContactFactory(facility=world.mercy, organization=world.org,
                                     name="Nurse Joy")
    login(page, live_server, "rep1", PASSWORD)
    page.goto(live_server.url + reverse("events:create"))
    page.get_by_label("Event Type").select_option(label="Stocking Order")
    page.get_by_label("Name").fill("Mercy shelf 12")
    page.get_by_label("Facility", exact=True).select_option(label="Mercy General")
    expect(page.locator("#id_facility_contact option", has_text="Nurse Joy")).to_have_count(1)
    page.get_by_label("Facility contact").select_option(str(contact.pk))
    page.get_by_label("Manufacturer").select_option(label="Acme Spine")
    expect(page.locator("#id_product_line option", has_text="Pedicle Screws")).to_have_count(1)
    page.get_by_label("Product line").select_option(label="Pedicle Screws")
    token = page.locator("input[name=create_key]").input_value()
    page.get_by_role("button", name="Create").click()

    expect(
        page.get_by_text("Mercy shelf 12 created. Mark the used inventory next.")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/events/\d+/\?tab=used$"))
    expect(page.get_by_test_id("mark-tab")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Scan a UDI label")).to_be_visible()

    # Back to the filled form (the browser's Back button), Create again: the same draft, not a
    # second one. The form comes back as it was: its token, the typed fields, and the choices
    # whose lists came by htmx (the facility's contact, the manufacturer's product line).
    page.go_back()
    expect(page.get_by_role("heading", name="Create Event")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Mercy shelf 12")
    expect(page.get_by_label("Event Type")).to_have_value("stocking_order")
    expect(page.get_by_label("Facility", exact=True)).to_have_value(str(world.mercy.pk))
    expect(page.get_by_label("Manufacturer")).to_have_value(str(world.maker.pk))
    expect(page.get_by_label("Product line")).to_have_value(str(world.line.pk))
    expect(page.get_by_label("Facility contact")).to_have_value(str(contact.pk))
    assert page.locator("input[name=create_key]").input_value() == token
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Mercy shelf 12 was already created from this form")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/events/\d+/\?tab=used$"))
    assert Event.objects.filter(name="Mercy shelf 12").count() == 1
    draft = Event.objects.get(name="Mercy shelf 12")
    assert (draft.product_line_id, draft.facility_contact_id) == (world.line.pk, contact.pk)


def test_the_same_form_posted_twice_makes_one_draft_and_the_header_is_editable(page, live_server):
    world = build_world()
    world.admin.username = "boss"
    world.admin.save(update_fields=["username"])
    login(page, live_server, "boss", PASSWORD)
    page.goto(live_server.url + reverse("events:create"))
    page.get_by_label("Event Type").select_option(label="Stocking Order")
    page.get_by_label("Name").fill("Mercy shelf 13")
    page.get_by_label("Facility", exact=True).select_option(label="Mercy General")
    page.get_by_label("Representative").select_option(label="Ann Rep")
    page.get_by_label("Manufacturer").select_option(label="Acme Spine")
    expect(page.locator("#id_product_line option", has_text="Pedicle Screws")).to_have_count(1)
    page.get_by_label("Product line").select_option(label="Pedicle Screws")
    # A double submit (two posts of the same form, as a slow network's retry would send).
    page.evaluate("""() => {
        const form = document.querySelector('form.event-form');
        const data = new FormData(form);
        return fetch(form.action, {method: 'POST', body: data, redirect: 'manual'});
    }""")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Mercy shelf 13 was already created from this form")).to_be_visible()
    assert Event.objects.filter(name="Mercy shelf 13").count() == 1
    draft = Event.objects.get(name="Mercy shelf 13")

    # The header of the empty draft: the admin gives it to Bob Cover at St. Mary's.
    page.get_by_role("link", name="Details").click()
    page.get_by_label("Representative").select_option(label="Bob Cover")
    page.get_by_label("Facility", exact=True).select_option(label="St. Mary's")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Event details saved.")).to_be_visible()
    draft.refresh_from_db()
    assert (draft.representative, draft.facility) == (world.rep2, world.st_marys)

    # With Bob's device marked, giving it back to Ann is refused, naming the device.
    device = world.devices(1, custodian=world.rep2)[0]
    world.add(draft, [device])
    page.reload()
    page.get_by_label("Representative").select_option(label="Ann Rep")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("can't change while these devices are marked")).to_be_visible()
    expect(page.get_by_text(f"{device.label} is not in Ann Rep's custody")).to_be_visible()
    page.set_viewport_size(PHONE)
    _no_page_scroll(page)
    _shot(page, "draft-header-refused-phone")
    draft.refresh_from_db()
    assert draft.representative == world.rep2


# --- 8. Swap -------------------------------------------------------------------------------------


def test_a_swap_return_links_its_stocking_order_and_speaks_of_returns(page, live_server):
    world = build_world()
    world.rep.username = "rep1"
    world.rep.save(update_fields=["username"])
    world.st_marys.reps.add(world.rep)
    old = world.devices(1, expires_in_days=20)
    world.stocking_order(old)
    world.devices(1, expires_in_days=700)
    swap = swap_expiring_create(actor=world.rep, devices=[Device.objects.get(pk=old[0].pk)])
    ret, order = swap.return_event, swap.stocking_order

    login(page, live_server, "rep1", PASSWORD)
    page.goto(live_server.url + reverse("events:detail", args=[ret.pk]) + "?tab=used")
    expect(page.get_by_test_id("mark-tab")).to_have_text("Mark Returned Inventory")
    expect(page.get_by_test_id("submit-button")).to_have_text("Submit Return")
    expect(page.get_by_text("Mark Used Inventory")).to_have_count(0)
    pair = page.get_by_test_id("swap-pair")
    expect(pair).to_contain_text(order.name)
    _shot(page, "swap-return-1280")
    page.get_by_label("Signature (type your full name)").fill("Ann Rep")
    page.get_by_label(re.compile("^I attest")).check()
    page.get_by_test_id("submit-button").click()
    # Submitted, it still points to the draft stocking order: restock, don't just credit.
    expect(page.get_by_test_id("swap-pair")).to_contain_text(
        "submit it so the facility is restocked"
    )
    page.get_by_test_id("swap-pair").get_by_role("link", name=order.name).click()
    expect(page.get_by_role("heading", name=order.name)).to_be_visible()
    expect(page.get_by_test_id("swap-pair")).to_contain_text(ret.name)
    expect(page.get_by_test_id("submit-button")).to_have_text("Submit For Billing")

    # A manager sees why there is no Swap.
    world.manager.username = "mgr"
    world.manager.save(update_fields=["username"])
    page.context.clear_cookies()
    login(page, live_server, "mgr", PASSWORD)
    world.stocking_order(world.devices(1, expires_in_days=15))
    page.goto(live_server.url + reverse("reporting:index"))
    expect(page.get_by_test_id("swap-why-not")).to_contain_text("your role reads the reports")
    expect(page.get_by_test_id("swap-form")).to_have_count(0)


# --- 10. transfers -------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1280, 390])
def test_a_rep_transfers_by_scanning_then_takes_it_back(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    world = build_world()
    world.rep.username = "rep1"
    world.rep.save(update_fields=["username"])
    expiry = in_days(400)
    devices = world.devices(3, expires_in_days=400)
    login(page, live_server, "rep1", PASSWORD)
    page.goto(live_server.url + reverse("inventory:transfer_create"))
    recipients = page.get_by_label("To (recipient)").locator("option")
    expect(recipients.filter(has_text="Bob Cover")).to_have_count(1)
    expect(recipients.filter(has_text="Ann Rep")).to_have_count(0)  # not yourself
    picks = page.get_by_test_id("transfer-devices")
    expect(picks).to_contain_text(world.product.description)
    # The scan box: a label selects its device.
    label = udi_hri(world.product.gtin, expiry, "LOT-A", devices[1].serial)
    page.get_by_label("Scan a label to select its device").fill(label)
    page.get_by_label("Scan a label to select its device").press("Enter")
    expect(picks.get_by_role("checkbox", name=re.compile(devices[1].serial))).to_be_checked()
    expect(picks.get_by_role("checkbox", name=re.compile(devices[0].serial))).not_to_be_checked()
    page.get_by_label("To (recipient)").select_option(value=str(world.rep2.pk))
    if width == 390:
        _no_page_scroll(page)
        _shot(page, "transfer-scan-phone")
    page.get_by_role("button", name="Transfer").click()
    expect(
        page.get_by_text("sent: the devices are in transit until Bob Cover accepts")
    ).to_be_visible()
    expect(page.get_by_test_id("transfer-devices")).to_contain_text(world.product.description)
    transfer = Transfer.objects.get()
    assert list(transfer.devices.values_list("pk", flat=True)) == [devices[1].pk]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Take back").click()
    expect(page.get_by_test_id("taken-back")).to_contain_text("Taken back by Ann Rep")
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.TAKEN_BACK
    assert Device.objects.get(pk=devices[1].pk).pending_transfer_id is None
    if width == 390:
        _no_page_scroll(page)
    _shot(page, f"transfer-taken-back-{'phone' if width == 390 else '1280'}")


# --- 7. reports ----------------------------------------------------------------------------------


def test_a_low_stock_row_drafts_the_stocking_order_and_rows_lead_somewhere(page, live_server):
    world = build_world()
    world.rep.username = "rep1"
    world.rep.save(update_fields=["username"])
    world.st_marys.reps.add(world.rep)
    world.stocking_order(world.devices(1))
    ParLevelFactory(
        organization=world.org, facility=world.st_marys, product=world.product, minimum=3
    )
    fresh = world.devices(4, expires_in_days=600)
    login(page, live_server, "rep1", PASSWORD)
    page.goto(live_server.url + reverse("reporting:index"))
    low = page.get_by_test_id("low-stock")
    expect(low).to_contain_text(world.product.reference)
    _shot(page, "dashboard-low-stock-1280")
    low.get_by_test_id("low-create-order").click()
    expect(page.get_by_text("Draft stocking order created with 2 devices.")).to_be_visible()
    draft = Event.objects.get(event_type=EventType.STOCKING_ORDER, status="draft")
    assert (draft.facility, draft.representative) == (world.st_marys, world.rep)
    assert set(draft.lines.values_list("device_id", flat=True)) <= {d.pk for d in fresh}

    # The facility link of the row, and the catalogue number's devices.
    page.goto(live_server.url + reverse("reporting:index"))
    page.get_by_test_id("low-stock").get_by_role("link", name="St. Mary's").click()
    expect(page.get_by_role("heading", name="St. Mary's")).to_be_visible()
    page.go_back()
    page.get_by_test_id("low-stock").get_by_role("link", name=world.product.reference).click()
    expect(page.get_by_test_id("device-count")).to_have_text("1 device")

    # Replenishment opens on the rep using it.
    page.goto(live_server.url + reverse("reporting:replenishment"))
    expect(page.get_by_label("Representative")).to_have_value(str(world.rep.pk))
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + reverse("reporting:index"))
    _no_page_scroll(page)
    _shot(page, "dashboard-low-stock-phone")


# --- smaller points ------------------------------------------------------------------------------


def test_product_filter_search_import_template_and_recall_by_lot(page, live_server):
    world = build_world()
    world.admin.username = "boss"
    world.admin.save(update_fields=["username"])
    cage = ProductFactory(
        product_line=world.line,
        organization=world.org,
        reference="CG-0042",
        description="Lumbar cage 10 mm",
    )
    world.devices(2)
    cages = world.devices(1, product=cage, lot="RC-7")
    login(page, live_server, "boss", PASSWORD)
    page.goto(live_server.url + reverse("inventory:device_list"))
    box = page.get_by_label("Product", exact=True)
    expect(box).to_have_attribute("list", "product-options")
    box.fill("CG-0042 – Lumbar cage 10 mm")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("device-count")).to_have_text("1 device")
    expect(page.get_by_label("Product", exact=True)).to_have_value("CG-0042 – Lumbar cage 10 mm")
    _shot(page, "all-inventory-product-search-1280")

    page.goto(live_server.url + reverse("inventory:receiving_import"))
    first = min(world.product, cage, key=lambda p: p.reference)  # the sample's first row
    expect(page.get_by_test_id("import-sample")).to_contain_text(first.gtin)
    with page.expect_download() as download:
        page.get_by_test_id("import-template").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("gtin,lot,serial,expiration_date,custodian")
    assert first.gtin in text

    # A lot only one manufacturer made: no manufacturer to choose.
    page.goto(live_server.url + reverse("inventory:recall_trace"))
    page.get_by_label("Lot").fill("RC-7")
    page.get_by_role("button", name="Trace", exact=True).click()
    expect(page.get_by_text(cages[0].serial).first).to_be_visible()
    expect(page.get_by_text("choose the manufacturer")).to_have_count(0)
