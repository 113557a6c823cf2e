"""Issue 27 in a real browser, as an admin: open a recall for a lot spread over two reps and two
hospitals (every unit quarantined), follow the progress, send the hospital letters, acknowledge
one hospital through its signed link (a fresh browser, no login) and record the other's, bring
the units back (a Return from each hospital, a stock adjustment of the reps' units), close the
recall and download its report. The ledger replays clean."""

import os
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import Device, DeviceStatus, Recall, RecallStatus
from inventory.selectors import ledger_discrepancies
from tests.e2e.conftest import login
from tests.events.conftest import build_world
from tests.factories import PASSWORD, FacilityContactFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _shot(page, name):
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return
    page.screenshot(path=os.path.join(folder, f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(folder, f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _settled(page):
    page.wait_for_function(
        "() => !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def _return_from(page, live_server, facility, device):
    """A Return of ``device`` (quarantined facility stock) from ``facility``, submitted."""
    page.goto(live_server.url + reverse("events:create"))
    page.get_by_label("Event Type").select_option(label="Return")
    page.get_by_label("Name").fill(f"Recall return {facility.name}")
    page.get_by_label("Date").fill(timezone.localdate().isoformat())
    page.get_by_label("Facility", exact=True).select_option(label=facility.name)
    page.get_by_label("Representative").select_option(label="Ann Rep")
    page.get_by_label("Manufacturer").select_option(label="Acme Spine")
    expect(page.locator("#id_product_line option", has_text="Pedicle Screws")).to_have_count(1)
    page.get_by_label("Product line").select_option(label="Pedicle Screws")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="Mark Returned Inventory").click()
    _settled(page)
    page.get_by_label("Search devices").fill(device.serial)
    results = page.get_by_test_id("search-results")
    results.get_by_role("button", name=f"Add SN {device.serial}").click()
    expect(
        page.get_by_test_id("lines-table").get_by_role("cell", name=device.serial, exact=True)
    ).to_be_visible()
    page.get_by_label("Signature (type your full name)").fill("Alex Admin")
    page.get_by_label(re.compile("^I attest")).check()
    page.get_by_role("button", name="Submit Return").click()
    expect(page.get_by_test_id("event-status")).to_have_text("Closed")


def test_admin_carries_a_recall_out_from_open_to_close(page, live_server, browser):
    page.set_viewport_size({"width": 1280, "height": 900})
    world = build_world()
    rep_unit = world.devices(1, lot="LOT-R")[0]
    rep2_unit = world.devices(1, lot="LOT-R", custodian=world.rep2)[0]
    [st_marys_unit] = world.facility_stock(1, facility=world.st_marys)
    [mercy_unit] = world.facility_stock(1, facility=world.mercy)
    Device.objects.filter(pk__in=[st_marys_unit.pk, mercy_unit.pk]).update(lot="LOT-R")
    [safe] = world.devices(1, lot="LOT-SAFE")
    FacilityContactFactory(
        facility=world.st_marys, organization=world.org, email="materials@stmarys.example"
    )
    FacilityContactFactory(
        facility=world.mercy, organization=world.org, email="supply@mercy.example"
    )
    login(page, live_server, world.admin.username, PASSWORD)

    # Open the recall: four units quarantined, held by two reps and two hospitals.
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Recalls", exact=True
    ).click()
    page.get_by_role("link", name="Open a recall").click()
    page.get_by_label("Manufacturer").select_option(label="Acme Spine")
    page.get_by_label("Reference").fill("R-2026-001")
    page.get_by_label("Class").select_option(label="Class II")
    page.get_by_label("Action").select_option(label="Return to manufacturer")
    page.get_by_label("Reason").fill("Thread may strip under insertion torque.")
    page.get_by_role("radio", name="Lots").check()
    page.locator("#id_lots").fill("LOT-R")  # the textarea (its label is the radio's too)
    _shot(page, "recall-open")
    page.get_by_role("button", name="Open recall and quarantine").click()
    expect(page.get_by_role("heading", name=re.compile("Recall R-2026-001"))).to_be_visible()
    expect(page.get_by_test_id("units-progress")).to_have_text("0 / 4")
    expect(page.get_by_test_id("ack-progress")).to_have_text("0 / 2")
    holders = page.get_by_test_id("recall-holders")
    for name in ("Ann Rep", "Bob Cover", "St. Mary's", "Mercy General"):
        expect(holders.locator(f'tr[data-holder="{name}"]')).to_contain_text("1")
    assert Device.objects.get(pk=safe.pk).status == DeviceStatus.AVAILABLE
    assert set(Device.objects.filter(lot="LOT-R").values_list("status", flat=True)) == {
        DeviceStatus.QUARANTINED
    }

    # The letters: rendered and emailed (the test runs tasks at once), each with its link.
    page.get_by_role("button", name="Send hospital letters").click()
    expect(page.get_by_text("2 letters queued")).to_be_visible()
    page.reload()
    expect(page.locator('[data-facility="St. Mary\'s"]')).to_contain_text("Letter emailed")
    letters = {m.to[0]: m for m in mail.outbox}
    assert set(letters) == {"materials@stmarys.example", "supply@mercy.example"}
    link = next(
        line
        for line in letters["materials@stmarys.example"].body.splitlines()
        if "/recalls/acknowledge/" in line
    )
    _shot(page, "recall-detail")

    # St. Mary's contact acknowledges through the link, in a browser with no session.
    contact = browser.new_context()
    try:
        hospital = contact.new_page()
        hospital.goto(live_server.url + link[link.index("/recalls/") :])
        expect(
            hospital.get_by_role("heading", name="Recall R-2026-001 — St. Mary's")
        ).to_be_visible()
        hospital.get_by_label("Your name").fill("Jo Materials")
        hospital.get_by_role("button", name="Acknowledge").click()
        expect(hospital.get_by_test_id("ack-done")).to_contain_text("Jo Materials")
    finally:
        contact.close()

    # The admin records Mercy's acknowledgement (by phone) on the recall page.
    page.reload()
    expect(page.get_by_test_id("ack-progress")).to_have_text("1 / 2")
    mercy = page.locator('[data-facility="Mercy General"]')
    mercy.get_by_label("Who acknowledged at Mercy General").fill("Dr Mercy")
    mercy.get_by_role("button", name="Record acknowledgement").click()
    expect(page.get_by_test_id("ack-progress")).to_have_text("2 / 2")

    # Closing now is refused: the units are still out.
    page.get_by_role("button", name="Close recall").click()
    expect(page.get_by_text("4 units are still quarantined")).to_be_visible()

    # The hospitals' units come back by Returns, the reps' by a stock adjustment.
    _return_from(page, live_server, world.st_marys, st_marys_unit)
    _return_from(page, live_server, world.mercy, mercy_unit)
    page.goto(live_server.url + reverse("inventory:adjustment_create"))
    page.get_by_label("Devices", exact=True).fill(f"{rep_unit.serial}\n{rep2_unit.serial}\n")
    page.get_by_label("Reason").select_option(label="Returned to manufacturer")
    page.get_by_label("Effect").select_option(label="Remove")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.get_by_test_id("adjustment-lines")).to_contain_text(rep2_unit.serial)

    recall = Recall.objects.get()
    page.goto(live_server.url + reverse("recalls:detail", args=[recall.pk]))
    expect(page.get_by_test_id("units-progress")).to_have_text("4 / 4")
    page.get_by_role("button", name="Close recall").click()
    expect(page.get_by_text("Recall R-2026-001 is closed.")).to_be_visible()
    expect(page.locator('[data-status="closed"]')).to_be_visible()
    _shot(page, "recall-closed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Report (CSV)").click()
    with open(download.value.path(), encoding="utf-8") as handle:
        report = handle.read()
    assert report.count("\n") == 5 and "Return Recall return St. Mary's" in report
    recall.refresh_from_db()
    assert recall.status == RecallStatus.CLOSED
    assert list(ledger_discrepancies(organization_id=world.org.pk)) == []
