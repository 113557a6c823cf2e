"""PO reconciliation: what the PO states (total, lines typed or read from its PDF) against the
sales order; each kind of difference named; a mismatched PO is invoiced only "anyway", with a
reason kept on the event; a corrected PO matches."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from weasyprint import HTML

from billing.models import Invoice, PurchaseOrder
from billing.po_lines import StatedLine, parse_typed_lines
from billing.reconcile import DifferenceKind, ReconcileStatus, po_reconcile
from billing.services import invoice_issue, purchase_order_correct, purchase_order_record
from events.models import EventStatus
from tests.billing._billing import (  # noqa: F401  (private_storage is an autouse fixture)
    billable_event,
    private_storage,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(world, django_capture_on_commit_callbacks):
    """A submitted case: 2 units of the product at 1,000.00 (sales order 2,000.00)."""
    return billable_event(world, django_capture_on_commit_callbacks, n=2)


def record(world, event, *, total=None, lines=None, number="PO-1"):
    return purchase_order_record(
        actor=world.admin, event=event, number=number, total=total, lines=lines
    )


def kinds(world, event):
    po = PurchaseOrder.objects.get(event=event)
    check = po_reconcile(event=event, purchase_order=po)
    return check.status, [(d.kind, d.message) for d in check.differences]


def test_a_po_stating_the_sales_order_matches(world, case):
    record(
        world,
        case,
        total=Decimal("2000.00"),
        lines=[StatedLine(world.product, 2, Decimal("1000.00"))],
    )
    assert kinds(world, case) == (ReconcileStatus.MATCHED, [])


def test_each_kind_of_difference_is_named(world, case):
    other = ProductFactory(product_line=world.line, organization=world.org, reference="XTRA-9")
    ref = world.product.reference
    record(
        world,
        case,
        total=Decimal("1900.00"),
        lines=[
            StatedLine(world.product, 1, Decimal("950.00")),
            StatedLine(other, 1, Decimal("5.00")),
        ],
    )
    status, differences = kinds(world, case)
    assert status == ReconcileStatus.MISMATCH
    assert differences == [
        (DifferenceKind.QUANTITY, f"{ref}: the PO orders 1 unit, the sales order has 2."),
        (
            DifferenceKind.PRICE,
            f"{ref}: the PO's unit price is $950.00, the sales order's $1,000.00.",
        ),
        (DifferenceKind.EXTRA_ITEM, "XTRA-9 is on the PO (1 unit) but not on the sales order."),
        (DifferenceKind.TOTAL, "The PO's total is $1,900.00; the sales order's is $2,000.00."),
    ]


def test_a_missing_item_is_named(world, case):
    other = ProductFactory(product_line=world.line, organization=world.org, reference="ONLY-PO")
    record(world, case, lines=[StatedLine(other, 2, Decimal("1000.00"))])
    status, differences = kinds(world, case)
    assert (
        DifferenceKind.MISSING_ITEM,
        f"{world.product.reference} is on the sales order (2 units) but not on the PO.",
    ) in differences


def test_a_po_with_only_a_number_is_not_checked_and_invoices_as_before(world, case):
    record(world, case)
    assert kinds(world, case) == (ReconcileStatus.NOT_CHECKED, [])
    invoice = invoice_issue(actor=world.admin, event=case)
    assert invoice.mismatch_reason == ""


def test_invoice_anyway_needs_a_reason_which_is_kept(world, case):
    record(world, case, total=Decimal("1000.00"))
    with pytest.raises(ValidationError) as refused:
        invoice_issue(actor=world.admin, event=case)
    assert "does not match the sales order" in " ".join(refused.value.messages)
    assert "The PO's total is $1,000.00; the sales order's is $2,000.00." in refused.value.messages
    case.refresh_from_db()
    assert case.status == EventStatus.READY_TO_INVOICE and not Invoice.objects.exists()
    invoice = invoice_issue(
        actor=world.admin, event=case, mismatch_reason="Hospital pays the rest on a second PO"
    )
    assert invoice.mismatch_reason == "Hospital pays the rest on a second PO"
    assert "The PO's total is $1,000.00" in invoice.mismatch_differences


def test_a_corrected_po_matches_and_invoices_without_a_reason(world, case):
    record(
        world,
        case,
        total=Decimal("2000.00"),
        lines=[StatedLine(world.product, 1, Decimal("1000.00"))],
    )
    assert kinds(world, case)[0] == ReconcileStatus.MISMATCH
    purchase_order_correct(
        actor=world.admin,
        event=case,
        total=Decimal("2000.00"),
        lines=[StatedLine(world.product, 2, Decimal("1000.00"))],
    )
    assert kinds(world, case) == (ReconcileStatus.MATCHED, [])
    assert invoice_issue(actor=world.admin, event=case).mismatch_reason == ""
    with pytest.raises(ValidationError, match="only before the invoice"):
        purchase_order_correct(actor=world.admin, event=case, total=None, lines=[])


def test_typed_lines_are_parsed_and_each_bad_line_named(world):
    ref = world.product.reference
    lines = parse_typed_lines(
        organization_id=world.org.pk, text=f"{ref.lower()}, 2, $1,000.00\n\n{ref};1;1000.00"
    )
    assert [(line.product, line.quantity, line.price) for line in lines] == [
        (world.product, 3, Decimal("1000.00"))
    ]
    with pytest.raises(ValidationError) as refused:
        parse_typed_lines(
            organization_id=world.org.pk,
            text=f"NOPE, 1, 5.00\n{ref}, x, 5.00\n{ref}, 1, 5.123\n{ref} 1 5.00",
        )
    assert refused.value.message_dict["lines"] == [
        "Line 1: no product has the reference “NOPE”.",
        "Line 2: the quantity “x” must be a whole number above 0.",
        "Line 3: the unit price “5.123” must be an amount like 850.00.",
        "Line 4: write the reference, the quantity and the unit price, separated by commas.",
    ]


def po_pdf(world, quantity: int, price: str, total: str) -> bytes:
    ref = world.product.reference
    html = f"""<html><body><h1>Purchase Order 4471</h1><p>St. Mary's Hospital, Materials</p>
    <table><tr><th>Item</th><th>Description</th><th>Qty</th><th>Unit</th><th>Ext</th></tr>
    <tr><td>{ref}</td><td>Pedicle screw</td><td>{quantity}</td><td>{price}</td>
    <td>{total}</td></tr></table><p>Subtotal {total}</p><p>Total {total}</p></body></html>"""
    return HTML(string=html).write_pdf()


def test_lines_and_total_are_read_from_the_po_pdf(world, case):
    upload = SimpleUploadedFile(
        "po.pdf", po_pdf(world, 1, "1,000.00", "1,000.00"), content_type="application/pdf"
    )
    po = purchase_order_record(actor=world.admin, event=case, number="PO-4471", pdf_file=upload)
    assert po.lines_source == PurchaseOrder.LinesSource.PDF
    assert po.total == Decimal("1000.00")
    assert [(line.product_id, line.quantity, line.price) for line in po.lines.all()] == [
        (world.product.pk, 1, Decimal("1000.00"))
    ]
    status, differences = kinds(world, case)
    assert status == ReconcileStatus.MISMATCH
    assert [kind for kind, _ in differences] == [DifferenceKind.QUANTITY, DifferenceKind.TOTAL]


def test_the_billing_panel_names_the_differences_and_invoices_anyway(client, world, case):
    client.force_login(world.admin)
    response = client.post(
        reverse("billing:po_record", args=[case.pk]),
        {"number": "PO-77", "total": "2000.00", "lines": f"{world.product.reference}, 3, 1000.00"},
    )
    assert response.status_code == 302
    page = client.get(reverse("events:detail", args=[case.pk])).content.decode()
    assert "Does not match the sales order" in page
    assert "the PO orders 3 units, the sales order has 2." in page
    url = reverse("billing:invoice_issue", args=[case.pk])
    client.post(url, {"invoice_anyway": "1", "mismatch_reason": ""})
    assert not Invoice.objects.exists()
    client.post(url, {"invoice_anyway": "1", "mismatch_reason": "Buyer confirmed by phone"})
    assert Invoice.objects.get(event=case).mismatch_reason == "Buyer confirmed by phone"
    page = client.get(reverse("events:detail", args=[case.pk])).content.decode()
    assert "Invoiced anyway" in page and "Buyer confirmed by phone" in page
