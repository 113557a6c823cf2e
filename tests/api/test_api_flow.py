"""The API's writes go through the services: the same rules, roles and messages as the pages."""

from __future__ import annotations

import datetime
import io

import pytest
from pypdf import PdfReader

from billing.models import SalesOrder
from core.models import OutboxMessage
from events.models import Event, EventStatus
from inventory.models import Device, DeviceStatus, Transfer

pytestmark = pytest.mark.django_db


def case_body(world, **extra):
    return {
        "event_type": "case", "name": "Case API-1", "date": datetime.date.today().isoformat(),
        "facility": world.st_marys.pk, "representative": world.rep.pk,
        "manufacturer": world.maker.pk, "product_line": world.line.pk, **extra,
    }


def test_a_rep_creates_a_case_adds_a_device_by_udi_submits_and_reads_the_sales_order(
        world, api_as):
    device = world.devices(1)[0]
    api = api_as(world.rep)
    created = api.post("/api/v1/events/", case_body(world, patient_id="PT-77"))
    assert created.status_code == 201, created.content
    event_id = created.json()["id"]
    assert created.json()["status"] == "draft"

    added = api.post(f"/api/v1/events/{event_id}/devices/", {"udi": device.udi})
    assert added.status_code == 200, added.content
    assert [line["device"]["id"] for line in added.json()["lines"]] == [device.pk]

    submitted = api.post(f"/api/v1/events/{event_id}/submit/",
                         {"signature_name": "Ann Rep", "attestation": True})
    assert submitted.status_code == 200, submitted.content
    body = submitted.json()
    assert body["status"] == EventStatus.PENDING_PO
    order = SalesOrder.objects.get(event_id=event_id)
    assert body["sales_order"] == {"id": order.pk, "number": order.number}
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.CONSUMED
    assert list(OutboxMessage.objects.values_list("kind", flat=True)) == [
        "event.submitted", "sales_order.issued"]

    pdf = api.get(f"/api/v1/sales-orders/{order.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert order.number in text


def test_a_rule_violation_answers_400_with_the_pages_message_and_changes_nothing(world, api_as):
    device = world.devices(1)[0]
    api = api_as(world.rep)
    event_id = api.post("/api/v1/events/", case_body(world)).json()["id"]  # no patient ID
    api.post(f"/api/v1/events/{event_id}/devices/", {"device_ids": [device.pk]})
    refused = api.post(f"/api/v1/events/{event_id}/submit/",
                       {"signature_name": "Ann Rep", "attestation": True})
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        "Enter the Patient ID before submitting the case (traceability)."]
    assert Event.objects.get(pk=event_id).status == EventStatus.DRAFT
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.AVAILABLE
    assert not OutboxMessage.objects.exists()


def test_a_device_in_another_reps_custody_is_refused_by_the_rule(world, api_as):
    theirs = world.devices(1, custodian=world.rep2)[0]
    rep = api_as(world.rep)
    event_id = rep.post("/api/v1/events/", case_body(world, patient_id="P1")).json()["id"]
    # A rep does not even see another rep's custody ...
    unseen = rep.post(f"/api/v1/events/{event_id}/devices/", {"device_ids": [theirs.pk]})
    assert unseen.status_code == 400
    assert unseen.json()["detail"] == f"No device #{theirs.pk} is in your inventory."
    # ... and an admin adding it to Ann's case gets the rule's message (rule 1).
    refused = api_as(world.admin).post(f"/api/v1/events/{event_id}/devices/",
                                       {"device_ids": [theirs.pk]})
    assert refused.status_code == 400
    assert theirs.label in refused.json()["detail"]
    assert not Event.objects.get(pk=event_id).lines.exists()


def test_a_manager_may_read_but_writes_get_the_services_refusal(world, api_as):
    api = api_as(world.manager)
    assert api.get("/api/v1/devices/").status_code == 200
    refused = api.post("/api/v1/events/", case_body(world))
    assert refused.status_code == 403
    assert not Event.objects.exists()


def test_a_read_only_token_cannot_write(world, api_as):
    api = api_as(world.rep, scope="read")
    refused = api.post("/api/v1/events/", case_body(world))
    assert refused.status_code == 403
    assert "read-only" in refused.json()["detail"]
    assert not Event.objects.exists()


def test_po_invoice_and_the_accounting_journal(world, api_as):
    devices = world.devices(2)
    event = world.stocking_order(devices)
    admin = api_as(world.admin)
    po = admin.post(f"/api/v1/events/{event.pk}/purchase-order/", {"number": "PO-4471"})
    assert po.status_code == 200, po.content
    assert po.json()["status"] == EventStatus.READY_TO_INVOICE
    again = admin.post(f"/api/v1/events/{event.pk}/purchase-order/", {"number": "PO-4472"})
    assert again.status_code == 400
    assert again.json()["detail"] == f"{event.name} already has purchase order PO-4471."
    invoiced = admin.post(f"/api/v1/events/{event.pk}/invoice/")
    assert invoiced.status_code == 200, invoiced.content
    invoice = admin.get("/api/v1/invoices/").json()["results"][0]
    today = datetime.date.today().isoformat()
    journal = admin.get("/api/v1/accounting/journal/", {"date_from": today, "date_to": today})
    assert journal.status_code == 200
    lines = b"".join(journal.streaming_content).decode().splitlines()
    assert lines[0].startswith("Date,Entry,Type,Document,Account,Debit,Credit")
    total = f"{sum(d.product.unit_price for d in devices):.2f}"
    assert f"{today},1,Invoice,{invoice['number']},Accounts Receivable,{total}," in lines[1]
    assert f"{today},1,Invoice,{invoice['number']},Sales,,{total}" in lines[2]
    rep = api_as(world.rep).get("/api/v1/accounting/journal/",
                                {"date_from": today, "date_to": today})
    assert rep.status_code == 403


def test_receive_send_and_answer_a_transfer(world, api_as):
    admin = api_as(world.admin)
    received = admin.post("/api/v1/devices/receive/", {
        "product": world.product.pk, "lot": "L-9", "serials": ["S-1", "S-2"],
        "expiration_date": (datetime.date.today() + datetime.timedelta(days=300)).isoformat(),
        "custodian": world.rep.pk,
    })
    assert received.status_code == 201, received.content
    ids = [d["id"] for d in received.json()]
    rep = api_as(world.rep)
    sent = rep.post("/api/v1/transfers/", {"device_ids": ids, "to_custodian": world.rep2.pk})
    assert sent.status_code == 201, sent.content
    assert sent.json()["status"] == Transfer.Status.PENDING
    transfer_id = sent.json()["id"]
    # Only the recipient (or an admin) may answer: the service's own refusal.
    assert rep.post(f"/api/v1/transfers/{transfer_id}/accept/").status_code == 403
    accepted = api_as(world.rep2).post(f"/api/v1/transfers/{transfer_id}/accept/")
    assert accepted.status_code == 200, accepted.content
    assert set(Device.objects.filter(pk__in=ids).values_list("custodian", flat=True)) == {
        world.rep2.pk}
    assert OutboxMessage.objects.filter(kind="transfer.answered").count() == 1
