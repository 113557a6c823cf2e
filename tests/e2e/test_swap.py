"""Issue 15 in a real browser: a rep swaps a facility's expiring stock from the Facility Stock
Sales dashboard — a draft Return and a draft Stocking Order of fresh units — reviews both and
submits them; the hospital gets a credit memo."""

import os
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from billing.models import CreditMemo
from billing.submit import event_submit_for_billing
from events.models import Event, EventStatus
from events.services import event_add_devices
from inventory.models import Device, DeviceStatus
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


def _shot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], name), full_page=True)


def _submit(page, name):
    page.get_by_label("Signature (type your full name)").fill(name)
    page.get_by_label(re.compile("^I attest")).check()
    # "Submit Return" on the return, "Submit For Billing" on the stocking order (issue 23).
    page.get_by_role("button", name=re.compile("^Submit (Return|For Billing)$")).click()


def test_rep_swaps_expiring_facility_stock_from_the_dashboard(page, live_server):
    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org, username="admin")
    rep = UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    st_marys = FacilityFactory(organization=org, name="St. Mary's")
    st_marys.reps.add(rep)  # rep1 covers St. Mary's: its stock is in their reports
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540",
                           description="Pedicle screw 6.5 x 40 mm")
    old = receive(custodian=rep, product=screw, lot="L-OLD", actor=admin,
                  serials=["7001", "7002"], expires_in_days=20)
    order = make_event(actor=admin, representative=rep, facility=st_marys, product_line=line,
                       name="St. Mary's shelf stock")
    event_add_devices(actor=admin, event=order, devices=old)
    event_submit_for_billing(actor=admin, event=order, signature_name="Ada Admin")
    receive(custodian=rep, product=screw, lot="L-MID", actor=admin, serials=["8001"],
            expires_in_days=200)
    receive(custodian=rep, product=screw, lot="L-NEW", actor=admin, serials=["9001", "9002"],
            expires_in_days=700)

    login(page, live_server, "rep1", PASSWORD)
    page.goto(live_server.url + reverse("reporting:index"))
    expiring = page.get_by_test_id("expiring")
    expiring.get_by_label("Swap SN 7001 at St. Mary's").check()
    expiring.get_by_label("Swap SN 7002 at St. Mary's").check()
    _shot(page, "swap-dashboard.png")
    expiring.get_by_role("button", name="Swap").click()

    expect(page.get_by_role("heading", name="Swap expiring stock · St. Mary's")).to_be_visible()
    expect(page.get_by_test_id("swap-return")).to_contain_text("SN 7001")
    fresh = page.get_by_test_id("swap-order")
    expect(fresh).to_contain_text("SN 9001")  # longest dating first
    expect(fresh).to_contain_text("SN 9002")
    expect(fresh).not_to_contain_text("SN 8001")
    expect(page.get_by_test_id("swap-shortfalls")).to_have_count(0)
    _shot(page, "swap.png")
    swap_url = page.url

    # The return: one unit came back damaged; submit it.
    page.get_by_test_id("review-return").click()
    page.get_by_label("Damaged").first.check()
    expect(page.get_by_test_id("panel-notice")).to_contain_text("returned for destruction")
    _submit(page, "Riley One")
    expect(page.get_by_test_id("credit-memo-panel")).to_contain_text("CM-000001")
    expect(page.get_by_test_id("device-now")).to_have_text(["Removed", "Available"])
    _shot(page, "swap-return-submitted.png")

    # The stocking order of fresh units: submit it.
    page.goto(swap_url)
    page.get_by_test_id("review-order").click()
    _submit(page, "Riley One")
    expect(page.get_by_test_id("event-status")).to_have_text("Pending PO")

    ret = Event.objects.get(event_type="return")
    assert ret.status == EventStatus.CLOSED
    assert CreditMemo.objects.get(event=ret).total == 2 * screw.unit_price
    statuses = dict(Device.objects.values_list("serial", "status"))
    assert statuses == {"7001": DeviceStatus.REMOVED, "7002": DeviceStatus.AVAILABLE,
                        "8001": DeviceStatus.AVAILABLE, "9001": DeviceStatus.FACILITY_STOCK,
                        "9002": DeviceStatus.FACILITY_STOCK}


def test_damaged_ticked_before_the_page_scripts_load_is_still_saved(page, live_server):
    """The flake's cause: on a loaded machine the Return's lines are on screen before htmx has
    bound their "Damaged" forms (deferred scripts), and a tick in that moment was lost — no
    request, no notice. Here htmx is held back until the box is ticked: once it loads, the tick
    is sent (static/js/app.js) and the panel says so."""
    line = ProductLineFactory(name="Spine", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org, username="admin")
    rep = UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    st_marys = FacilityFactory(organization=org, name="St. Mary's")
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540")
    old = receive(custodian=rep, product=screw, lot="L-OLD", actor=admin, serials=["7001"])
    order = make_event(actor=admin, representative=rep, facility=st_marys, product_line=line)
    event_add_devices(actor=admin, event=order, devices=old)
    event_submit_for_billing(actor=admin, event=order, signature_name="Ada Admin")
    ret = make_event(actor=admin, representative=rep, facility=st_marys, product_line=line,
                     event_type="return", name="Back")
    event_add_devices(actor=admin, event=ret, devices=old)

    login(page, live_server, "rep1", PASSWORD)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    held = []

    def hold(route):  # the request waits until continued
        held.append(route)

    page.route("**/htmx.min.js*", hold)
    page.goto(live_server.url + reverse("events:detail", args=[ret.pk]) + "?tab=used",
              wait_until="commit")
    page.get_by_label("Damaged").check()
    assert held, "the page asked for htmx before its body was on screen"
    assert page.evaluate("typeof window.htmx") == "undefined"
    expect(page.get_by_test_id("panel-notice")).to_have_count(0)
    held[0].continue_()
    expect(page.get_by_test_id("panel-notice")).to_contain_text(
        "marked damaged: it will be returned for destruction")
    assert ret.lines.get().damaged
