"""Browser (issue 25): a rep on a phone schedules a case for tomorrow (adding its surgeon and
procedure), requests products; an admin sends part and refuses the rest; the rep accepts the
transfer and the agenda flags nothing after."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from events.models import Event, InventoryRequest, InventoryRequestStatus
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


def log_out(page):
    """Sign out (the phone's navbar is collapsed: the session cookie goes instead)."""
    page.context.clear_cookies()


def fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_schedule_request_fulfil_accept_on_a_phone(page, live_server, tmp_path):
    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org, username="office")
    UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    FacilityFactory(organization=org, name="St. Mary's Regional")
    screw = ProductFactory(
        product_line=line,
        organization=org,
        reference="PS-6540",
        description="Polyaxial pedicle screw 6.5 x 40 mm",
    )
    receive(
        custodian=admin,
        product=screw,
        actor=admin,
        expires_in_days=200,
        lot="SHORT",
        serials=["SN-A1"],
    )
    receive(
        custodian=admin,
        product=screw,
        actor=admin,
        expires_in_days=700,
        lot="LONG",
        serials=["SN-B1", "SN-B2"],
    )
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    # 1. The rep, on a phone, schedules a case for tomorrow.
    page.set_default_timeout(60_000)  # a loaded two-core machine: room for the first requests
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/events/agenda/")
    page.get_by_test_id("schedule-case").click()
    page.get_by_label("Name").fill("Lumbar fusion, OR 3")
    page.get_by_label("Facility", exact=True).select_option(label="St. Mary's Regional")
    page.get_by_label("Manufacturer").select_option(label="Acme Spine")
    expect(
        page.locator("#id_product_line option", has_text="Spine – Pedicle Screws")
    ).to_have_count(1)
    page.get_by_label("Product line").select_option(label="Spine – Pedicle Screws")
    page.get_by_label("Time").fill("07:30")
    page.get_by_test_id("surgeon-add").click()
    page.locator("#id_surgeon_name").fill("Dr. Maria Lopez")
    page.get_by_role("button", name="Add surgeon").click()
    expect(page.locator("#id_physician option:checked")).to_have_text("Dr. Maria Lopez")
    expect(page.locator("#directory-modal")).to_be_hidden()
    page.get_by_test_id("procedure-add").click()
    page.locator("#id_procedure_name").fill("Lumbar fusion L4-L5")
    page.get_by_role("button", name="Add procedure").click()
    expect(page.locator("#id_procedure option:checked")).to_have_text("Lumbar fusion L4-L5")
    expect(page.locator("#directory-modal")).to_be_hidden()
    fits(page, 390)
    page.screenshot(path=str(shots / "schedule-case-phone.png"), full_page=True)
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("stays a draft until the day")
    case = Event.objects.get()
    assert case.status == "draft" and case.surgeon == "Dr. Maria Lopez"

    # 2. …and requests three screws for it.
    page.get_by_test_id("request-inventory").click()
    page.locator("#id_product_1").select_option(label=str(screw))
    page.locator("#id_quantity_1").fill("3")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_test_id("case-request-status")).to_have_text("Waiting for the office")
    page.goto(f"{live_server.url}/events/agenda/?week={case.date:%Y-%m-%d}")
    expect(page.get_by_test_id("agenda-short")).to_contain_text("PS-6540 (holds 0 of 3)")
    fits(page, 390)
    page.screenshot(path=str(shots / "agenda-phone.png"), full_page=True)
    log_out(page)

    # 3. The admin sends the two longest-dated units and refuses the rest.
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, "office", PASSWORD)
    page.goto(f"{live_server.url}/events/requests/")
    page.get_by_test_id("queue-request").click()
    units = page.get_by_test_id("unit")
    expect(units).to_have_count(3)
    expect(units.nth(0)).to_be_checked()
    expect(units.nth(1)).to_be_checked()
    expect(units.nth(2)).to_be_checked()
    expect(page.get_by_text("lot SHORT")).to_be_visible()
    units.nth(2).uncheck()  # the short-dated one stays in the warehouse
    page.get_by_label("Refuse the rest: reason (shown to the rep)").fill("Back-ordered")
    page.screenshot(path=str(shots / "request-answer-desktop.png"), full_page=True)
    page.get_by_test_id("answer").click()
    expect(page.get_by_role("alert").first).to_contain_text("2 units sent to Riley One")
    request = InventoryRequest.objects.get()
    assert request.status == InventoryRequestStatus.CLOSED
    assert sorted(request.transfers.get().devices.values_list("lot", flat=True)) == ["LONG", "LONG"]
    log_out(page)

    # 4. The rep sees the answer, accepts the transfer; the agenda flags nothing.
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/events/{case.pk}/")
    expect(page.get_by_test_id("refusal-reason")).to_contain_text("Back-ordered")
    expect(page.get_by_test_id("case-request")).to_contain_text("PS-6540: 2 of 3 sent")
    page.goto(f"{live_server.url}/inventory/transfers/")
    page.get_by_test_id("awaiting").get_by_role("button", name="Accept").click()
    expect(page.get_by_role("alert").first).to_contain_text("accepted")
    page.goto(f"{live_server.url}/events/agenda/?week={case.date:%Y-%m-%d}")
    expect(page.get_by_test_id("agenda-case")).to_contain_text("Lumbar fusion, OR 3")
    expect(page.get_by_test_id("agenda-case")).to_contain_text("07:30")
    expect(page.get_by_test_id("agenda-short")).to_have_count(0)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("short-cases")).to_have_count(0)


def draw(page, canvas, offset=0):
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20 + offset, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(
            box["x"] + 20 + offset + step * box["width"] / 16,
            box["y"] + box["height"] * (0.7 - 0.4 * (step % 2)),
        )
    page.mouse.up()


def test_on_the_day_the_contact_signs_on_a_phone_and_the_sticker_is_photographed(
    playwright, live_server, tmp_path
):
    import io
    import re

    from django.utils import timezone
    from pypdf import PdfReader

    from billing.documents import document_render
    from consignment.models import FacilityContact
    from events.schedule_services import case_schedule
    from tests.e2e.conftest import CHROMIUM_ARGS

    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    org.require_contact_signature = True
    org.require_sticker_photo = True
    org.save()
    admin = AdminFactory(organization=org)
    rep = UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    facility = FacilityFactory(organization=org, name="St. Mary's Regional")
    contact = FacilityContact.objects.create(
        organization=org, facility=facility, name="Jane Doe", title="OR charge nurse"
    )
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540")
    receive(custodian=rep, product=screw, actor=admin, serials=["SN-TODAY-1"])
    case = case_schedule(
        actor=rep,
        name="Lumbar fusion, OR 3",
        facility=facility,
        representative=rep,
        manufacturer=line.manufacturer,
        product_line=line,
        facility_contact=contact,
        scheduled_at=timezone.now().replace(second=0, microsecond=0),
    )
    case.patient_id = "PT-20931"
    case.save()

    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ],
    )
    try:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        context.grant_permissions(["camera"], origin=live_server.url)
        page = context.new_page()
        page.set_default_timeout(60_000)
        login(page, live_server, "rep1", PASSWORD)
        # Mark the used device, as today.
        page.goto(f"{live_server.url}/events/{case.pk}/?tab=used")
        add = page.get_by_test_id("search-results").get_by_role("button", name="Add")
        add.first.click()
        expect(add).to_have_count(0)  # the one unit is on the case now
        expect(page.get_by_test_id("lines-total")).to_be_visible()
        # Submitting without the sign-off is refused with the reasons.
        page.get_by_label("Signature (type your full name)").fill("Riley One")
        page.get_by_label(re.compile("^I attest")).check()
        page.get_by_role("button", name="Submit For Billing").click()
        expect(page.get_by_test_id("submit-form")).to_contain_text(
            "The hospital contact's signature is required"
        )
        # The contact signs on the phone, the rep beside; the sticker photo from the camera.
        page.get_by_test_id("sign-off-link").click()
        expect(page.get_by_label("Contact's name")).to_have_value("Jane Doe")
        draw(page, page.get_by_test_id("contact-pad").locator("canvas"))
        draw(page, page.get_by_test_id("rep-pad").locator("canvas"), offset=10)
        page.get_by_test_id("sticker-camera").click()
        page.get_by_test_id("sticker-capture").click()
        expect(page.locator("form[data-sticker-taken]")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "sign-off-phone.png"), full_page=True)
        page.get_by_test_id("sign-off-save").click()
        expect(page.get_by_role("alert").first).to_contain_text("Hospital sign-off saved")
        page.get_by_label("Signature (type your full name)").fill("Riley One")
        page.get_by_label(re.compile("^I attest")).check()
        page.get_by_role("button", name="Submit For Billing").click()
        expect(page.get_by_role("alert").first).to_contain_text("sales order SO-")
    finally:
        browser.close()

    case.refresh_from_db()
    sign_off = case.sign_off
    assert sign_off.contact_signed and sign_off.rep_signature and sign_off.has_sticker
    assert sign_off.sticker_photo.name.endswith(".jpg")
    pdf = document_render(case.sales_order)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Jane Doe, OR charge nurse" in text and "Riley One · representative" in text
    (Path(os.environ.get("SCREENSHOT_DIR") or tmp_path) / "sales-order-signed.pdf").write_bytes(pdf)
