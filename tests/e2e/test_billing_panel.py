"""The billing panel in a real browser: record the PO with its PDF, issue the invoice, mark paid."""

import pytest
from playwright.sync_api import expect

from tests.billing._billing import pdf_text, private_storage  # noqa: F401  (autouse fixture)
from tests.e2e.conftest import login
from tests.events.conftest import build_world
from tests.factories import PASSWORD, blank_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF = blank_pdf()


def test_admin_bills_an_event_from_its_page(page, live_server, tmp_path):
    world = build_world()
    event = world.event("case", name="Spine 9 April")
    world.add(event, world.devices(2))
    world.submit(event)  # the sales order PDF renders after this commit
    po_file = tmp_path / "po-4471.pdf"
    po_file.write_bytes(PDF)

    def get(href):
        return page.request.get(live_server.url + href)

    login(page, live_server, world.admin.username, PASSWORD)
    page.goto(f"{live_server.url}/events/{event.pk}/")
    panel = page.get_by_test_id("billing-panel")
    expect(panel.get_by_test_id("billing-status")).to_have_text("Pending PO")
    sales_order = get(panel.get_by_test_id("sales-order-link").get_attribute("href"))
    assert "SO-000001" in pdf_text(sales_order.body())

    panel.get_by_label("PO number").fill("PO-4471")
    panel.get_by_label("PO (PDF, optional)").set_input_files(str(po_file))
    panel.get_by_role("button", name="Record PO").click()
    expect(page.get_by_text("PO-4471 recorded")).to_be_visible()
    expect(panel.get_by_test_id("billing-status")).to_have_text("Ready to invoice")
    po_pdf = get(panel.get_by_role("link", name="PO PDF").get_attribute("href"))
    assert po_pdf.body() == PDF

    panel.get_by_role("button", name="Issue Invoice").click()
    expect(page.get_by_text("Invoice INV-000001 issued for Spine 9 April")).to_be_visible()
    invoice = get(panel.get_by_test_id("invoice-link").get_attribute("href"))
    assert invoice.headers["content-type"] == "application/pdf"
    text = pdf_text(invoice.body())
    assert "INV-000001" in text and "PO-4471" in text and "2,000.00" in text

    panel.get_by_role("button", name="Mark Paid").click()
    expect(page.get_by_text("Spine 9 April marked paid.")).to_be_visible()
    expect(panel.get_by_test_id("billing-status")).to_have_text("Paid")
    expect(panel.get_by_role("button")).to_have_count(0)
