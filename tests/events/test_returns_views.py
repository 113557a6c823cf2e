"""Issue 15 through the screens: Create Event "Return", the Mark Used Inventory tab, the damaged
flag, Submit For Billing, the credit memo (panel, PDF read back, billing queue), the invoice
balance, and the commission statement's clawbacks."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import CreditMemo
from billing.services import invoice_issue, purchase_order_record
from commissions.models import CommissionCredit, CommissionPlan
from core.formatting import format_money
from events.models import Event, EventStatus
from inventory.models import Device, DeviceStatus
from tests.billing._billing import pdf_text, private_storage  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db


def money(amount: str) -> str:
    return format_money(Decimal(amount))

SUBMIT = {"signature_name": "Ann Rep", "attest": "on"}


def _return(client, world, facility):
    client.force_login(world.rep)
    response = client.post(reverse("events:create"), {
        "event_type": "return", "name": "Expiring screws back", "date": "2026-11-20",
        "facility": facility.pk, "manufacturer": world.maker.pk, "product_line": world.line.pk,
        "patient_id": "ignored",
    })
    assert response.status_code == 302
    event = Event.objects.get(name="Expiring screws back")
    assert (event.event_type, event.representative, event.patient_id) == ("return", world.rep, "")
    return event


def test_return_offers_only_the_facilitys_stock_and_credits_it(
    client, world, django_capture_on_commit_callbacks
):
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"))
    here = world.facility_stock(2, facility=world.st_marys)
    [elsewhere] = world.facility_stock(1, facility=world.mercy)
    [in_custody] = world.devices(1)
    order = Event.objects.get(pk=here[0].sold_on_id)
    purchase_order_record(actor=world.admin, event=order, number="PO-77")
    invoice = invoice_issue(actor=world.admin, event=order)
    event = _return(client, world, world.st_marys)

    page = client.get(reverse("events:detail", args=[event.pk]) + "?tab=used").content.decode()
    assert "Facility stock of St. Mary&#x27;s to return" in page
    for device in here:
        assert f'name="device" value="{device.pk}"' in page
    for device in (elsewhere, in_custody):
        assert f'name="device" value="{device.pk}"' not in page

    # A refused device: the error is shown, nothing is added.
    response = client.post(reverse("events:add_device", args=[event.pk]),
                           {"device": elsewhere.pk}, follow=True)
    assert "is facility stock of Mercy General and can&#x27;t be returned from St. Mary" in (
        response.content.decode())
    for device in here:
        client.post(reverse("events:add_device", args=[event.pk]), {"device": device.pk})
    response = client.post(reverse("events:line_damaged", args=[event.pk, here[1].pk]),
                           {"damaged": "on"}, follow=True)
    assert "marked damaged: it will be returned for destruction" in response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:submit", args=[event.pk]), SUBMIT, follow=True)
    html = response.content.decode()
    assert "was submitted: credit memo CM-000001." in html
    assert 'data-testid="credit-memo-panel"' in html and f"credited {money('2000')}" in html
    assert Device.objects.get(pk=here[0].pk).status == DeviceStatus.AVAILABLE
    assert Device.objects.get(pk=here[1].pk).status == DeviceStatus.REMOVED

    memo = CreditMemo.objects.get(event=event)
    assert memo.sha256  # rendered by the task once the submission committed, stored once
    response = client.get(reverse("billing:credit_memo_pdf", args=[event.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in ["CREDIT MEMO", "CM-000001", "St. Mary's", "Expiring screws back",
                     "Stocking Order", order.name, f"Sales order {order.sales_order.number}",
                     f"Invoice {invoice.number}", "2,000.00", "returned for destruction",
                     here[0].serial, here[1].serial]:
        assert expected in text, expected

    # The invoice shows its balance after credits, on the event page and in the billing queue.
    client.force_login(world.admin)
    page = client.get(reverse("events:detail", args=[order.pk])).content.decode()
    assert f"credits {money('2000')}" in page and f"balance {money('0')}" in page
    queue = client.get(reverse("billing:queue")).content.decode()
    assert 'data-testid="queue-credit-memo">CM-000001<' in queue
    assert f"balance {money('0')}" in queue

    # The seller's statement shows the clawbacks and lists them before Mark Paid.
    today = datetime.date.today()
    statement = client.get(reverse("commissions:statement"), {
        "rep": world.rep.pk, "date_from": today.replace(day=1).isoformat(),
        "date_to": today.isoformat(),
    }).content.decode()
    assert "Clawback (returned)" in statement
    assert 'data-testid="pending-clawbacks"' in statement
    assert "Pending clawbacks (2)" in statement
    assert f'data-testid="total-clawback">{money("-200")}<' in statement
    period = {"rep": world.rep.pk, "date_from": today.replace(day=1).isoformat(),
              "date_to": today.isoformat()}
    pdf = client.get(reverse("commissions:statement"), {**period, "format": "pdf"})
    text = pdf_text(pdf.content)
    assert "Clawbacks (returned)" in text
    assert money("-200") in text and money("-100") in text
    # Mark period paid nets the clawbacks: none is pending afterwards.
    client.post(reverse("commissions:mark_paid"), period)
    assert not CommissionCredit.objects.filter(rep=world.rep, paid_at__isnull=True).exists()
    statement = client.get(reverse("commissions:statement"), period).content.decode()
    assert 'data-testid="pending-clawbacks"' not in statement


def test_return_event_page_query_count_does_not_grow(client, world, django_assert_max_num_queries):
    event = world.event("return")
    client.force_login(world.rep)
    url = reverse("events:detail", args=[event.pk]) + "?tab=used"
    world.add(event, world.facility_stock(1))
    with django_assert_max_num_queries(40) as small:
        client.get(url)
    world.add(event, world.facility_stock(8))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)
    world.submit(event)
    with django_assert_max_num_queries(len(small.captured_queries) + 3):
        assert client.get(url).status_code == 200


def test_return_status_for_the_billing_queue_is_closed(client, world):
    event = world.event("return")
    world.add(event, world.facility_stock(1))
    world.submit(event)
    assert Event.objects.get(pk=event.pk).status == EventStatus.CLOSED


def test_billing_actions_on_a_return_say_it_is_credited_and_change_nothing(client, world):
    event = world.event("return")
    world.add(event, world.facility_stock(1))
    world.submit(event)
    client.force_login(world.admin)
    response = client.post(reverse("billing:invoice_issue", args=[event.pk]), follow=True)
    assert "is a return, credited by its credit memo: an invoice does not apply." in (
        response.content.decode())
    assert Event.objects.get(pk=event.pk).status == EventStatus.CLOSED
    rows = client.get(reverse("billing:export")).getvalue().decode().splitlines()
    assert "Sales order / credit memo" in rows[0]
    [line] = [row for row in rows if row.startswith("return event")]
    assert ",CM-000001,-1000.00," in line
