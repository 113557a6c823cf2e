"""Browser: receive by scanning labels, transfer to rep1 who accepts; a declined transfer."""

import pytest
from playwright.sync_api import expect

from inventory.models import Device, Transfer
from inventory.udi import udi_hri
from tests.e2e.conftest import login
from tests.events.conftest import build_world, in_days
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def nav(page, name):
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name=name, exact=True).click()


def log_out(page):
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()


def test_scan_receive_transfer_accept_and_decline(page, live_server):
    world = build_world()
    admin = world.admin
    rep1 = UserFactory(organization=world.org, username="rep1", first_name="Riley",
                       last_name="One")
    rep2 = UserFactory(organization=world.org, username="rep2", first_name="Sam",
                       last_name="Two")
    expiry = in_days(400)
    # Scanners are set to type the bracketed form (a browser input drops the GS character).
    labels = [udi_hri(world.product.gtin, expiry, "LOT-E2E", f"E2E-{i}") for i in (1, 2, 3)]

    # 1. The admin scans three labels (a scanner types the label and presses Enter).
    login(page, live_server, admin.username, PASSWORD)
    nav(page, "Receiving")
    page.get_by_role("link", name="Scan labels").click()
    for label in labels:
        page.get_by_label("Scan a label").fill(label)
        page.get_by_label("Scan a label").press("Enter")
        expect(page.get_by_test_id("scanned")).to_contain_text(label[-5:])
    scanned = page.get_by_test_id("scanned")
    for serial in ("E2E-1", "E2E-2", "E2E-3"):
        expect(scanned).to_contain_text(serial)
    page.get_by_label("Custodian").select_option(label=f"{admin} ({admin.username}, Admin)")
    page.get_by_role("button", name="Receive 3 devices").click()
    expect(page.get_by_role("alert").first).to_contain_text("Received 3 devices")

    # 2. Transfer them to rep1, not accepted at once.
    nav(page, "Transfers")
    page.get_by_role("link", name="New transfer").click()
    page.get_by_label("From (custodian)").select_option(
        label=f"{admin} ({admin.username}, Admin)")
    devices = page.get_by_test_id("transfer-devices")
    expect(devices).to_contain_text("E2E-3")
    devices.get_by_role("button", name="Select all").click()
    page.get_by_label("To (recipient)").select_option(label="Riley One (rep1, Rep)")
    page.get_by_label("Accept at once").uncheck()
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.get_by_role("heading", name="Transfer #")).to_contain_text("In transit")
    first = Transfer.objects.get()
    assert first.status == Transfer.Status.PENDING
    assert set(Device.objects.values_list("custodian", flat=True)) == {admin.pk}
    log_out(page)

    # 3. rep1 accepts it from the Transfers page.
    login(page, live_server, "rep1", PASSWORD)
    nav(page, "Transfers")
    awaiting = page.get_by_test_id("awaiting")
    expect(awaiting).to_contain_text(f"#{first.pk}")
    awaiting.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("alert").first).to_contain_text("accepted")
    expect(page.get_by_test_id("awaiting")).to_have_count(0)
    page.get_by_test_id("transfers").get_by_role("link", name=f"#{first.pk}").click()
    expect(page.get_by_test_id("transfer-devices").get_by_role("row")).to_have_count(4)
    for row in page.get_by_test_id("transfer-devices").get_by_role("row").all()[1:]:
        expect(row).to_contain_text("Riley One")
    assert set(Device.objects.values_list("custodian", flat=True)) == {rep1.pk}

    # 4. rep1 sends one device to rep2, who declines it with a reason.
    nav(page, "Transfers")
    page.get_by_role("link", name="New transfer").click()
    page.get_by_test_id("transfer-devices").get_by_label("E2E-2").check()
    page.get_by_label("To (recipient)").select_option(label="Sam Two (rep2, Rep)")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.get_by_role("heading", name="Transfer #")).to_contain_text("In transit")
    second = Transfer.objects.exclude(pk=first.pk).get()
    log_out(page)

    login(page, live_server, "rep2", PASSWORD)
    nav(page, "Transfers")
    awaiting = page.get_by_test_id("awaiting")
    awaiting.get_by_label(f"Reason for declining transfer #{second.pk}").fill("Wrong size")
    awaiting.get_by_role("button", name="Decline").click()
    expect(page.get_by_test_id("decline-reason")).to_contain_text("Wrong size")
    log_out(page)

    # 5. The sender sees the reason, and the device is back in rep1's custody.
    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/inventory/transfers/{second.pk}/")
    expect(page.get_by_test_id("decline-reason")).to_contain_text("Wrong size")
    expect(page.get_by_test_id("decline-reason")).to_contain_text("stayed with Riley One")
    row = page.get_by_test_id("transfer-devices").get_by_role("row", name="E2E-2")
    expect(row).to_contain_text("Riley One")
    expect(row).not_to_contain_text("In transit")
    row.get_by_role("link").click()
    expect(page.get_by_test_id("where-now")).to_contain_text("Riley One")
    device = Device.objects.get(serial="E2E-2")
    assert device.custodian == rep1 and device.pending_transfer is None
    assert rep2  # rep2 never held it
