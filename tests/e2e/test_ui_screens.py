"""Issue 14 in a real browser: draft Cancel and a refused submit on the event page, the billing
queue as cards on a phone, wide tables that fit 1280 px, a styled error page."""

import re

import pytest
from playwright.sync_api import expect

from billing.submit import event_submit_for_billing
from events.models import Event, EventStatus
from events.services import event_add_devices
from tests.e2e.conftest import login
from tests.factories import (
    PASSWORD,
    AdminFactory,
    FacilityFactory,
    ManagerFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    make_event,
    receive,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _world():
    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org, username="admin", first_name="Ada", last_name="Admin")
    rep = UserFactory(organization=org, username="rep1", first_name="Riley", last_name="One")
    ManagerFactory(organization=org, username="manager")
    mercy = FacilityFactory(organization=org, name="Mercy General Hospital")
    northgate = FacilityFactory(organization=org, name="Northgate Community Hospital")
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540",
                           description="Polyaxial pedicle screw 6.5 x 40 mm")
    devices = receive(custodian=rep, product=screw, lot="L2612-007", actor=admin,
                      serials=[f"SN-{n}" for n in range(4471, 4479)])
    return {"line": line, "admin": admin, "rep": rep, "mercy": mercy,
            "northgate": northgate, "devices": devices}


def _stocking_order(w, devices, facility, name):
    event = make_event(actor=w["admin"], representative=w["rep"], facility=facility,
                       product_line=w["line"], name=name)
    event_add_devices(actor=w["admin"], event=event, devices=devices)
    return event


def test_stale_draft_warns_refused_submit_stays_and_cancel_keeps_it(page, live_server):
    w = _world()
    draft = _stocking_order(w, w["devices"][:2], w["northgate"], "Stocking Northgate #1")
    other = _stocking_order(w, w["devices"][:1], w["mercy"], "Stocking Mercy #1")
    event_submit_for_billing(actor=w["admin"], event=other, signature_name="Ada Admin")

    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/events/{draft.pk}/?tab=used")
    expect(page.get_by_test_id("stale-lines")).to_contain_text(
        "1 marked device can no longer be submitted")
    expect(page.get_by_test_id("line-problem")).to_have_count(1)
    page.get_by_label("Signature (type your full name)").fill("Riley One")
    page.get_by_label(re.compile("I attest")).check()
    page.get_by_role("button", name="Submit For Billing").click()
    # Refused: still the event page (not /submit/), the reason inside the submit form.
    expect(page).to_have_url(re.compile(rf"/events/{draft.pk}/\?tab=used$"))
    expect(page.get_by_test_id("submit-form").get_by_test_id("form-errors")).to_contain_text(
        "SN SN-4471 is facility stock of Mercy General Hospital")

    page.get_by_role("link", name="Details").click()
    page.get_by_label("Reason (optional)").fill("Duplicate of the Mercy order")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel draft").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "Stocking Northgate #1 was cancelled; its devices are free for other events.")
    expect(page.get_by_test_id("event-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("cancelled-note")).to_contain_text("Duplicate of the Mercy order")
    assert Event.objects.get(pk=draft.pk).status == EventStatus.CANCELLED
    page.goto(f"{live_server.url}/events/")
    row = page.get_by_test_id("events-table").get_by_role("row", name=re.compile("Northgate #1"))
    expect(row).to_contain_text("Cancelled")


def test_billing_queue_is_cards_on_a_phone(page, live_server):
    w = _world()
    for i, facility in enumerate((w["mercy"], w["northgate"])):
        event = _stocking_order(w, w["devices"][i * 3:i * 3 + 3], facility,
                                f"Stocking {facility.name} #{i + 1}")
        event_submit_for_billing(actor=w["admin"], event=event, signature_name="Ada Admin")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "admin", PASSWORD)
    page.goto(f"{live_server.url}/events/billing/")
    rows = page.get_by_test_id("billing-queue").locator("tbody tr")
    expect(rows).to_have_count(2)
    first = rows.first
    # A card: the cells stack, each with its label, using the phone's width.
    box = first.bounding_box()
    assert box["width"] > 330, box
    expect(first.get_by_text("Pending PO")).to_be_visible()
    expect(first.locator('td[data-label="Total"]')).to_have_text("$3,000.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    label = page.evaluate("""() => getComputedStyle(
        document.querySelector('.billing-queue td[data-label="Status"]'), '::before').content""")
    assert label == '"Status"'


def _clipped_tables(page) -> list[str]:
    """Tables wider than the box that holds them (they would scroll or clip)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('table'))
        .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
        .map(t => (t.dataset.testid || t.className) + ' ' + t.scrollWidth + '>'
             + t.parentElement.clientWidth)""")


def test_dashboard_and_recall_trace_fit_1280(page, live_server):
    w = _world()
    order = _stocking_order(w, w["devices"][:4], w["mercy"],
                            "Stocking Mercy General Hospital restock for the spine service #7")
    event_submit_for_billing(actor=w["admin"], event=order, signature_name="Ada Admin")
    case = make_event(actor=w["rep"], representative=w["rep"], facility=w["mercy"],
                      product_line=w["line"], event_type="case", patient_id="MRN-872019",
                      surgeon="Dr. Priya Raman-Whitfield", facility_stock_only=True,
                      name="Case 1004 – lumbar fusion L4-L5, OR 3")
    event_add_devices(actor=w["rep"], event=case, devices=w["devices"][:1])
    event_submit_for_billing(actor=w["rep"], event=case, signature_name="Riley One")
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, "admin", PASSWORD)
    page.goto(f"{live_server.url}/reports/")
    expect(page.get_by_text("Where facility stock was used")).to_be_visible()
    assert _clipped_tables(page) == []
    page.goto(f"{live_server.url}/inventory/recall/?manufacturer="
              f"{w['line'].manufacturer_id}&lot=L2612-007")
    expect(page.get_by_test_id("recall")).to_be_visible()
    assert _clipped_tables(page) == []
    patient = page.get_by_test_id("patient-id").filter(has_text="MRN-872019")
    expect(patient).to_be_in_viewport()
    assert patient.bounding_box()["x"] + patient.bounding_box()["width"] <= 1280


def test_a_manager_refused_create_event_gets_a_styled_page_with_the_way_back(page, live_server):
    _world()
    login(page, live_server, "manager", PASSWORD)
    response = page.goto(f"{live_server.url}/events/new/")
    assert response.status == 403
    expect(page.get_by_test_id("error-page")).to_contain_text(
        "Managers can look at everything but change nothing")
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
    page.get_by_test_id("error-links").get_by_role("link", name="Events").click()
    expect(page).to_have_url(re.compile(r"/events/$"))
