"""As an admin in a real browser: import a contract's prices, see a case at that facility priced
by it, submit it, record a PO with a wrong quantity (flagged), correct it, invoice it."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Invoice
from events.models import EventLine
from tests.billing._billing import private_storage  # noqa: F401  (autouse fixture)
from tests.e2e.conftest import login
from tests.events.conftest import build_world
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_imports_a_contract_prices_a_case_and_reconciles_its_po(page, live_server,
                                                                      tmp_path):
    world = build_world()
    ref = world.product.reference
    today = datetime.date.today()
    login(page, live_server, world.admin.username, PASSWORD)

    # A contract for St. Mary's, its prices imported from a CSV file.
    page.goto(f"{live_server.url}/contracts/")
    page.get_by_role("link", name="New contract").click()
    page.get_by_label("Name").fill("St. Mary's GPO 2026")
    page.get_by_label("Facility").select_option(label="St. Mary's")
    page.get_by_label("Valid from").fill((today - datetime.timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Contract St. Mary's GPO 2026 saved")).to_be_visible()
    page.get_by_test_id("import-link").click()
    prices = tmp_path / "prices.csv"
    prices.write_text(f"reference,product_line,price,percent_off\n{ref},,850.00,\n")
    page.get_by_label("CSV file").set_input_files(str(prices))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("1 price imported into St. Mary's GPO 2026.")).to_be_visible()
    expect(page.get_by_test_id("entries")).to_contain_text("$850.00")

    # A case at St. Mary's: its draft lines show the contract price and the contract.
    event = world.event("case", name="Spine 3 June")
    world.add(event, world.devices(2))
    page.goto(f"{live_server.url}/events/{event.pk}/?tab=used")
    lines = page.get_by_test_id("lines-table")
    expect(lines.get_by_test_id("price-contract").first).to_have_text(
        "St. Mary's GPO 2026 (contract price)")
    expect(page.get_by_test_id("lines-total").first).to_have_text("$1,700.00")
    page.get_by_label("Signature (type your full name)").fill("Alex Admin")
    page.get_by_label(re.compile("^I attest")).check()
    page.get_by_role("button", name="Submit For Billing").click()
    panel = page.get_by_test_id("billing-panel")
    expect(panel.get_by_test_id("billing-status")).to_have_text("Pending PO")
    assert {line.price for line in EventLine.objects.filter(event=event)} == {
        Decimal("850.00")}

    # The facility's PO says 3 units: flagged.
    panel.get_by_label("PO number").fill("PO-8812")
    panel.get_by_label("PO total").fill("1700.00")
    panel.get_by_label(re.compile("^PO lines")).fill(f"{ref}, 3, 850.00")
    panel.get_by_role("button", name="Record PO").click()
    expect(page.get_by_text("PO-8812 recorded")).to_be_visible()
    expect(panel.get_by_test_id("po-mismatch")).to_be_visible()
    expect(panel.get_by_test_id("po-differences")).to_contain_text(
        f"{ref}: the PO orders 3 units, the sales order has 2.")
    # Invoicing without "invoice anyway" is refused, with the differences named.
    panel.get_by_role("button", name="Issue Invoice").click()
    expect(page.get_by_text(re.compile("does not match the sales order"))).to_be_visible()
    assert not Invoice.objects.exists()

    # Corrected: 2 units. Matched, then invoiced without a reason.
    panel = page.get_by_test_id("billing-panel")
    correct = panel.get_by_test_id("po-correct-form")
    correct.get_by_label(re.compile("^PO lines")).fill(f"{ref}, 2, 850.00")
    correct.get_by_role("button", name="Save corrected PO").click()
    expect(page.get_by_text("The purchase order of Spine 3 June was corrected.")).to_be_visible()
    expect(panel.get_by_test_id("po-matched")).to_be_visible()
    panel.get_by_role("button", name="Issue Invoice").click()
    expect(page.get_by_text(re.compile("Invoice INV-000001 issued for Spine 3 June"))
           ).to_be_visible()
    expect(panel.get_by_test_id("billing-status")).to_have_text("Invoiced")
    assert Invoice.objects.get(event=event).mismatch_reason == ""
    page.screenshot(path=str(tmp_path / "after.png"), full_page=True)
