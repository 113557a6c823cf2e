"""The writes the pages have and the API lacked: remove a line from a draft, mark an invoice
paid, record a PO with its PDF (multipart, the page's checks)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import Invoice, PurchaseOrder
from billing.services import invoice_issue, purchase_order_record
from events.models import EventLine, EventStatus
from tests.billing._billing import private_storage  # noqa: F401  (stored PDFs go to tmp)
from tests.factories import blank_pdf

pytestmark = pytest.mark.django_db


def test_a_rep_removes_a_line_from_a_draft(world, api_as):
    devices = world.devices(2)
    event = world.event("case", rep=world.rep)
    world.add(event, devices)
    api = api_as(world.rep)
    removed = api.post(f"/api/v1/events/{event.pk}/devices/remove/", {"device_id": devices[0].pk})
    assert removed.status_code == 200, removed.content
    assert [line["device"]["id"] for line in removed.json()["lines"]] == [devices[1].pk]
    assert list(EventLine.objects.filter(event=event).values_list("device", flat=True)) == [
        devices[1].pk
    ]
    again = api.post(f"/api/v1/events/{event.pk}/devices/remove/", {"device_id": devices[0].pk})
    assert again.status_code == 400
    assert again.json()["detail"] == f"Device #{devices[0].pk} is not on {event}."


def test_a_submitted_events_lines_stay(world, api_as):
    devices = world.devices(1)
    order = world.stocking_order(devices)
    refused = api_as(world.admin).post(
        f"/api/v1/events/{order.pk}/devices/remove/", {"device_id": devices[0].pk}
    )
    assert refused.status_code == 400
    assert "submitted" in refused.json()["detail"].lower()
    assert EventLine.objects.filter(event=order).count() == 1


def test_an_admin_marks_an_invoice_paid_a_rep_may_not(world, api_as):
    order = world.stocking_order(world.devices(1))
    purchase_order_record(actor=world.admin, event=order, number="PO-1")
    invoice = invoice_issue(actor=world.admin, event=order)
    rep = api_as(world.rep).post(f"/api/v1/invoices/{invoice.pk}/paid/")
    assert rep.status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).paid_at is None
    paid = api_as(world.admin).post(f"/api/v1/invoices/{invoice.pk}/paid/")
    assert paid.status_code == 200, paid.content
    assert paid.json()["paid_at"] is not None
    order.refresh_from_db()
    assert order.status == EventStatus.PAID
    twice = api_as(world.admin).post(f"/api/v1/invoices/{invoice.pk}/paid/")
    assert twice.status_code == 400
    assert twice.json()["detail"] == (
        f"{order} is Paid: only an invoiced event can be marked paid."
    )


def post_po(client, api, event, **fields):
    return client.post(f"/api/v1/events/{event.pk}/purchase-order/", fields, headers=api.headers)


def test_a_po_with_its_pdf_in_one_multipart_request(client, world, api_as):
    order = world.stocking_order(world.devices(1))
    api = api_as(world.admin)
    pdf = blank_pdf()
    response = post_po(
        client,
        api,
        order,
        number="PO-77",
        pdf_file=SimpleUploadedFile("po.pdf", pdf, content_type="application/pdf"),
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == EventStatus.READY_TO_INVOICE
    po = PurchaseOrder.objects.get(event=order)
    assert po.number == "PO-77"
    with po.pdf.open("rb") as stored:
        assert stored.read() == pdf


@pytest.mark.parametrize(
    "upload, message",
    [
        (
            SimpleUploadedFile("po.txt", b"hello", content_type="text/plain"),
            "The PO must be a PDF file.",
        ),
        (
            SimpleUploadedFile("po.pdf", b"%PDF-1.4 not really", content_type="application/pdf"),
            "This PO file is refused",
        ),
    ],
)
def test_a_po_file_that_is_not_a_clean_pdf_is_refused_with_the_pages_message(
    client, world, api_as, upload, message
):
    order = world.stocking_order(world.devices(1))
    response = post_po(client, api_as(world.admin), order, number="PO-78", pdf_file=upload)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    order.refresh_from_db()
    assert order.status == EventStatus.PENDING_PO
    assert not PurchaseOrder.objects.exists()


def test_a_po_file_over_the_size_cap_is_refused(client, world, api_as, settings):
    settings.PO_UPLOAD_MAX_BYTES = 1024
    order = world.stocking_order(world.devices(1))
    pdf = blank_pdf() + b"%" + b"x" * 2048
    response = post_po(
        client,
        api_as(world.admin),
        order,
        number="PO-79",
        pdf_file=SimpleUploadedFile("po.pdf", pdf, content_type="application/pdf"),
    )
    assert response.status_code == 400
    assert "the limit is" in response.json()["detail"]
    assert not PurchaseOrder.objects.exists()
