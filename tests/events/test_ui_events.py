"""What a rep and an admin read on the events screens and documents: names said once, one
status colour everywhere, money with its currency, unbroken lot codes, Create Event's form."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.services import invoice_issue, purchase_order_record
from events.models import EventStatus
from tests.billing._billing import (  # noqa: F401  (private_storage is an autouse fixture)
    pdf_text,
    private_storage,
    submit_rendered,
)
from tests.billing.test_billing_pdf import stored_bytes
from tests.billing.test_billing_views import PDF, pdf_upload

pytestmark = pytest.mark.django_db


def test_flash_messages_name_the_event_once(client, world):
    client.force_login(world.rep)
    response = client.post(reverse("events:create"), {
        "event_type": "case", "name": "Case NG-001", "date": "2026-11-21",
        "facility": world.st_marys.pk, "representative": world.rep.pk,
        "manufacturer": world.maker.pk, "product_line": world.line.pk, "patient_id": "PT-1",
    }, follow=True)
    html = response.content.decode()
    assert "Case NG-001 created. Mark the used inventory next." in html
    assert "Case Case" not in html


def _badge(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"><span class="badge (text-bg-\w+)"', html)
    assert match, testid
    return match.group(1)


def test_one_status_colour_on_the_event_header_panel_list_and_queue(client, world):
    event = world.stocking_order(world.devices(1))
    client.force_login(world.admin)
    detail = client.get(reverse("events:detail", args=[event.pk])).content.decode()
    header, panel = _badge(detail, "event-status"), _badge(detail, "billing-status")
    assert header == panel == f"text-bg-{EventStatus.PENDING_PO.colour}" == "text-bg-warning"
    queue = client.get(reverse("billing:queue")).content.decode()
    listing = client.get(reverse("events:list")).content.decode()
    assert f'<span class="badge {header}" data-status="pending_po">Pending PO</span>' in queue
    assert f'<span class="badge {header}" data-status="pending_po">Pending PO</span>' in listing
    purchase_order_record(actor=world.admin, event=event, number="4471")
    invoice_issue(actor=world.admin, event=event)
    detail = client.get(reverse("events:detail", args=[event.pk])).content.decode()
    assert _badge(detail, "event-status") == _badge(detail, "billing-status") == "text-bg-info"


def test_money_on_pages_has_grouping_and_currency(client, world):
    world.org.currency = "EUR"
    world.org.save()
    event = world.stocking_order(world.devices(3))  # 3 × 1,000.00
    client.force_login(world.admin)
    detail = client.get(reverse("events:detail", args=[event.pk]), {"tab": "used"})
    html = detail.content.decode()
    assert 'data-testid="lines-total">€3,000.00<' in html and "€1,000.00" in html
    assert "· €3,000.00" in html  # billing panel
    queue = client.get(reverse("billing:queue")).content.decode()
    assert 'data-label="Total">€3,000.00<' in queue
    export = client.get(reverse("billing:export")).getvalue().decode()
    assert "3000.00" in export and "€" not in export  # CSV: plain numbers


def test_pdf_lot_column_keeps_codes_whole_and_shows_the_currency(
    world, django_capture_on_commit_callbacks
):
    event = world.event("stocking_order", name="Stocking Northgate #4")
    devices = world.devices(2, lot="L2612-007")
    world.add(event, devices)
    event = submit_rendered(world, event, django_capture_on_commit_callbacks)
    text = pdf_text(stored_bytes(event.sales_order))
    assert text.count("L2612-007") >= 2  # in the Lot column (and the UDI)
    assert not re.search(r"L2612-00\s", text)  # never wrapped mid-way: "L2612-00 / 7"
    assert "$1,000.00" in text and "$2,000.00" in text
    # Details name the event once, its type on its own row.
    assert "Stocking Order Stocking Northgate" not in text
    assert re.search(r"Event\s+Stocking Northgate", text)
    assert re.search(r"Event Type\s+Stocking Order", text)


def test_po_file_and_messages_do_not_say_po_twice(client, world):
    event = world.stocking_order(world.devices(1))
    client.force_login(world.admin)
    client.post(reverse("billing:po_record", args=[event.pk]),
                {"number": "PO-4471", "pdf_file": pdf_upload()})
    download = client.get(reverse("billing:po_pdf", args=[event.pk]))
    assert download.content == PDF
    assert 'filename="PO-4471.pdf"' in download["Content-Disposition"]


def test_create_event_form_marks_required_fields_and_every_invalid_one(client, world):
    client.force_login(world.admin)
    html = client.get(reverse("events:create")).content.decode()
    today = timezone.localdate().isoformat()
    assert f'type="date" name="date" value="{today}"' in html  # prefilled, ISO
    assert "---------" not in html and "Select an option" not in html
    # Every empty option alike.
    assert len(re.findall(r'<option value=""( selected)?>Choose…</option>', html)) == 5
    for label in ("Event Type", "Name", "Date", "Facility", "Representative", "Manufacturer",
                  "Product line"):
        marker = '<span class="text-danger" aria-hidden="true"> \\*</span>'
        assert re.search(rf">{label}</label>{marker}", html), label
    assert re.search(r'>Facility contact</label>', html)  # optional: no marker
    html = client.post(reverse("events:create"), {"event_type": "case"}).content.decode()
    for name in ("name", "date", "facility", "representative", "manufacturer",
                 "product_line"):
        assert re.search(rf'<(select|input)[^>]*name="{name}"[^>]*class="[^"]*is-invalid'
                         rf'|<(select|input)[^>]*class="[^"]*is-invalid[^"]*"[^>]*name="{name}"'
                         rf'|name="{name}" id="id_{name}" class="form-select is-invalid"',
                         html), name


def test_representative_choices_are_reps_only(client, world):
    from accounts.models import User
    from tests.factories import UserFactory

    UserFactory(organization=world.org, first_name="Central", last_name="Warehouse",
                role=User.Role.ADMIN)
    client.force_login(world.admin)
    form = client.get(reverse("events:create")).context["form"]
    names = [str(u) for u in form.fields["representative"].queryset]
    assert "Central Warehouse" not in names and "Ann Rep" in names


def test_event_dates_default_to_today(world):
    from events.forms import EventCreateForm

    form = EventCreateForm(user=world.admin)
    assert form["date"].value() == timezone.localdate()
    assert isinstance(form["date"].value(), datetime.date)
