"""Billing screens: PO, invoice and payment actions, downloads, queue and CSV export."""

import csv
import datetime
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import views as billing_views
from billing.models import DocumentCounter, Invoice, PurchaseOrder
from events.models import Event, EventStatus
from tests.billing._billing import (  # noqa: F401  (private_storage is an autouse fixture)
    billable_event,
    pdf_text,
    private_storage,
    storage_root,
    submit_rendered,
)
from tests.events.conftest import build_world
from tests.factories import UserFactory, blank_pdf
from tests.kits.conftest import build_kits

pytestmark = pytest.mark.django_db

PDF = blank_pdf()


def pdf_upload(data: bytes = PDF, name: str = "po.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def url(name: str, event: Event) -> str:
    return reverse(f"billing:{name}", args=[event.pk])


def billing_state(event: Event) -> dict:
    event.refresh_from_db()
    return {
        "status": event.status,
        "pos": list(PurchaseOrder.objects.values_list("event_id", "number")),
        "invoices": list(Invoice.objects.values_list("event_id", "number")),
        "counters": list(DocumentCounter.objects.values_list("doc_type", "last_number")),
    }


def stored_files(root) -> list:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def event(world, django_capture_on_commit_callbacks):
    return billable_event(world, django_capture_on_commit_callbacks, name="Spine 3 March",
                          surgeon="Dr. House")


# --- purchase order -----------------------------------------------------------------------------


def test_admin_records_a_po_with_its_pdf(client, world, event):
    client.force_login(world.admin)
    response = client.post(url("po_record", event), {
        "number": "  PO-4471  ", "pdf_file": pdf_upload(),
        "next": reverse("events:detail", args=[event.pk]),
    }, follow=True)
    assert "PO-4471 recorded" in response.content.decode()
    assert "PO PO-4471" not in response.content.decode()
    event.refresh_from_db()
    assert event.status == EventStatus.READY_TO_INVOICE
    po = event.purchase_order
    assert po.number == "PO-4471" and po.recorded_by == world.admin
    assert storage_root() in Path(po.pdf.path).parents
    download = client.get(url("po_pdf", event))
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Type"] == "application/pdf"


def test_po_pdf_is_served_only_to_who_may_see_the_event(client, world, event):
    client.force_login(world.admin)
    client.post(url("po_record", event), {"number": "PO-1", "pdf_file": pdf_upload()})
    other_org = build_world()
    for user, status in [(world.rep, 200), (world.manager, 200), (world.rep2, 404),
                         (other_org.admin, 404)]:
        client.force_login(user)
        assert client.get(url("po_pdf", event)).status_code == status, user
    client.logout()
    assert client.get(url("po_pdf", event)).status_code == 302  # to login


@pytest.mark.parametrize("data, expected", [
    ({"number": "   "}, "Enter the facility"),
    ({"number": "PO-9", "pdf_file": pdf_upload(b"GIF89a not a pdf")}, "must be a PDF"),
    ({"number": "PO-9", "pdf_file": pdf_upload(PDF, "po.txt", "text/plain")}, "must be a PDF"),
    ({"number": "PO-9", "pdf_file": pdf_upload(PDF + b"x" * 2000)}, "the limit is"),
])
def test_bad_po_inputs_are_refused_and_change_nothing(
    client, world, event, settings, data, expected
):
    settings.PO_UPLOAD_MAX_BYTES = 1024
    client.force_login(world.admin)
    before, files = billing_state(event), stored_files(storage_root())
    response = client.post(url("po_record", event), data)
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert billing_state(event) == before
    assert stored_files(storage_root()) == files


def test_duplicate_po_number_is_refused_within_the_organisation_only(
    client, world, event, django_capture_on_commit_callbacks
):
    first = billable_event(world, django_capture_on_commit_callbacks, name="First")
    client.force_login(world.admin)
    client.post(url("po_record", first), {"number": "PO-77"})
    before = billing_state(event)
    response = client.post(url("po_record", event), {"number": "po-77 "})
    assert response.status_code == 400
    assert "already recorded for" in response.content.decode()
    assert billing_state(event) == before

    other = build_world()
    theirs = billable_event(other, django_capture_on_commit_callbacks)
    client.force_login(other.admin)
    client.post(url("po_record", theirs), {"number": "PO-77"})
    theirs.refresh_from_db()
    assert theirs.status == EventStatus.READY_TO_INVOICE


def test_po_for_a_facility_stock_case_is_refused(
    client, world, django_capture_on_commit_callbacks
):
    case = world.event("case", facility_stock_only=True)
    world.add(case, world.facility_stock(1))
    case = submit_rendered(world, case, django_capture_on_commit_callbacks)
    client.force_login(world.admin)
    before = billing_state(case)
    response = client.post(url("po_record", case), {"number": "PO-1"})
    assert response.status_code == 400
    assert "does not apply" in response.content.decode()
    assert billing_state(case) == before == {**before, "status": EventStatus.CLOSED}
    # ... and the invoice too.
    response = client.post(url("invoice_issue", case), follow=True)
    assert "does not apply" in response.content.decode()
    assert billing_state(case) == before


# --- invoice and payment --------------------------------------------------------------------------


def test_invoice_before_the_po_is_refused(client, world, event):
    client.force_login(world.admin)
    before = billing_state(event)
    response = client.post(url("invoice_issue", event), follow=True)
    assert "Record the facility&#x27;s purchase order" in response.content.decode()
    assert billing_state(event) == before


def test_invoice_then_paid(client, world, event, django_capture_on_commit_callbacks):
    world.st_marys.payment_terms_days = 45
    world.st_marys.save()
    client.force_login(world.admin)
    client.post(url("po_record", event), {"number": "PO-31"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("invoice_issue", event), follow=True)
    today = timezone.localdate()
    due = today + datetime.timedelta(days=45)
    assert f"Invoice INV-000001 issued for Spine 3 March, due {due:%Y-%m-%d}" in (
        response.content.decode()
    )
    event.refresh_from_db()
    invoice = event.invoice
    assert event.status == EventStatus.INVOICED
    assert (invoice.number, invoice.due_date, invoice.total) == ("INV-000001", due,
                                                                 event.sales_order.total)
    assert invoice.sha256  # rendered after commit
    first = client.get(url("invoice_pdf", event))
    second = client.get(url("invoice_pdf", event))
    assert first.content == second.content
    with invoice.pdf.open("rb") as handle:
        assert handle.read() == first.content
    text = pdf_text(first.content)
    for expected in ["INVOICE", "INV-000001", "St. Mary's", "PO-31", f"{due:%Y-%m-%d}",
                     event.sales_order.number, "3,000.00", "Amount due"]:
        assert expected in text, expected
    for line in event.lines.select_related("device"):
        assert line.device.serial in text

    response = client.post(url("mark_paid", event), follow=True)
    assert "Spine 3 March marked paid." in response.content.decode()
    event.refresh_from_db()
    assert event.status == EventStatus.PAID
    assert event.invoice.paid_at and event.invoice.paid_by == world.admin
    # Paid is final.
    response = client.post(url("mark_paid", event), follow=True)
    assert "only an invoiced event can be marked paid" in response.content.decode()


def test_sales_order_download_is_byte_identical(client, world, event):
    client.force_login(world.rep)
    first = client.get(url("sales_order_pdf", event))
    second = client.get(url("sales_order_pdf", event))
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    assert first.content == second.content
    with event.sales_order.pdf.open("rb") as handle:
        assert handle.read() == first.content
    assert 'filename="SO-000001.pdf"' in first["Content-Disposition"]


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_non_admins_may_not_run_billing(client, world, event, role):
    client.force_login(getattr(world, role))
    before = billing_state(event)
    assert client.post(url("po_record", event), {"number": "PO-1"}).status_code == 403
    assert client.get(url("po_record", event)).status_code == 403
    assert client.post(url("invoice_issue", event)).status_code == 403
    assert client.post(url("mark_paid", event)).status_code == 403
    assert billing_state(event) == before


def test_another_organisations_event_is_404(client, world, event):
    other = build_world()
    client.force_login(other.admin)
    for name in ["po_record", "sales_order_pdf"]:
        assert client.get(url(name, event)).status_code == 404
    assert client.post(url("invoice_issue", event)).status_code == 404
    # Another rep of the same organisation can't download this rep's documents either.
    client.force_login(world.rep2)
    assert client.get(url("sales_order_pdf", event)).status_code == 404
    assert client.get(url("invoice_pdf", event)).status_code == 404


def test_billing_panel_shows_what_the_role_may_do(client, world, event):
    client.force_login(world.admin)
    html = client.get(reverse("events:detail", args=[event.pk])).content.decode()
    assert "SO-000001 (PDF)" in html and "Pending PO" in html and "Record PO" in html
    client.force_login(world.manager)
    html = client.get(reverse("events:detail", args=[event.pk])).content.decode()
    assert "SO-000001 (PDF)" in html and "Record PO" not in html


# --- queue and export ---------------------------------------------------------------------------


def make_queue(world, capture, n: int) -> list[Event]:
    return [billable_event(world, capture, n=1, name=f"Queue {i}") for i in range(n)]


def test_queue_lists_counts_filters_and_acts(client, world, django_capture_on_commit_callbacks):
    events = make_queue(world, django_capture_on_commit_callbacks, 3)
    client.force_login(world.admin)
    client.post(url("po_record", events[0]), {"number": "PO-A"})
    response = client.get(reverse("billing:queue"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Pending PO <span class=\"badge text-bg-light\">2</span>" in html
    assert "Ready to invoice <span class=\"badge text-bg-light\">1</span>" in html
    assert html.count(">Record PO</a>") == 2 and html.count("Issue Invoice</button>") == 1

    html = client.get(reverse("billing:queue"), {"status": "ready_to_invoice"}).content
    assert b"Queue 0" in html and b"Queue 1" not in html
    html = client.get(reverse("billing:queue"), {"facility": world.mercy.pk}).content
    assert b"No submitted events match" in html
    html = client.get(reverse("billing:queue"), {"rep": world.rep2.pk}).content
    assert b"No submitted events match" in html
    html = client.get(reverse("billing:queue"), {"rep": world.rep.pk}).content
    assert b"Queue 2" in html
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    html = client.get(reverse("billing:queue"), {"date_from": tomorrow}).content
    assert b"No submitted events match" in html
    html = client.get(reverse("billing:queue"), {"date_to": tomorrow}).content
    assert b"Queue 0" in html and b"Queue 2" in html

    client.force_login(world.manager)
    html = client.get(reverse("billing:queue")).content.decode()
    assert "Queue 2" in html and "Record PO" not in html and "Issue Invoice" not in html
    client.force_login(world.rep)
    assert client.get(reverse("billing:queue")).status_code == 403


def test_queue_query_count_does_not_grow_with_rows(
    client, world, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client.force_login(world.admin)
    make_queue(world, django_capture_on_commit_callbacks, 2)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("billing:queue")).status_code == 200
    more = make_queue(world, django_capture_on_commit_callbacks, 6)
    client.post(url("po_record", more[0]), {"number": "PO-Q"})
    with django_assert_max_num_queries(10):
        html = client.get(reverse("billing:queue")).content.decode()
    assert html.count("<tr data-event=") == 8


def test_queue_pages_count_from_the_status_tabs(
    client, world, django_capture_on_commit_callbacks, monkeypatch
):
    """Unfiltered or filtered by status, the pager takes its count from the status tabs (one
    count query fewer); any other filter counts the queue itself."""
    monkeypatch.setattr(billing_views, "QUEUE_PAGE_SIZE", 2)
    events = make_queue(world, django_capture_on_commit_callbacks, 5)
    client.force_login(world.admin)
    client.post(url("po_record", events[0]), {"number": "PO-A"})
    for params, pages, counted in [
        ({}, 3, False),
        ({"status": "pending_po"}, 2, False),
        ({"status": "ready_to_invoice"}, 1, False),
        ({"status": "paid"}, 1, False),
        ({"rep": world.rep.pk}, 3, True),
        ({"facility": world.mercy.pk}, 1, True),
    ]:
        with CaptureQueriesContext(connection) as queries:
            html = client.get(reverse("billing:queue"), params).content.decode()
        plain_counts = [q["sql"] for q in queries.captured_queries
                        if q["sql"].startswith('SELECT COUNT(*) AS "__count"')]
        assert bool(plain_counts) is counted, params
        assert (f"Page 1 of {pages}</span>" in html) is (pages > 1), params


def test_csv_export_neutralises_formulas(client, world, django_capture_on_commit_callbacks):
    world.st_marys.name = "+SUM(1,2)"
    world.st_marys.save()
    billable_event(world, django_capture_on_commit_callbacks, n=1, name="=HYPERLINK(\"x\")")
    billable_event(world, django_capture_on_commit_callbacks, n=1, name="@cmd",
                   facility=world.mercy)
    client.force_login(world.manager)
    response = client.get(reverse("billing:export"))
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0][:3] == ["Event", "Event Type", "Date"]
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(\"x\")" in cells and "'+SUM(1,2)" in cells and "'@cmd" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    filtered = client.get(reverse("billing:export"), {"facility": world.mercy.pk})
    assert len(list(csv.reader(io.StringIO(filtered.getvalue().decode())))) == 2


def test_rep_cannot_export(client, world):
    client.force_login(UserFactory(organization=world.org))
    assert client.get(reverse("billing:export")).status_code == 403


def test_a_kit_loan_is_not_in_the_billing_queue_its_counts_or_its_csv(
    client, world, django_capture_on_commit_callbacks
):
    """A loan lends kits and sells nothing (events.policy.NOT_BILLED): open or checked in, it is
    not a billing row, not a count and not a CSV line; the queue has no "On loan" tab."""
    make_queue(world, django_capture_on_commit_callbacks, 1)
    kits = build_kits(world)
    kits.loan(kits.build("K-OUT"))  # on loan
    closed = kits.loan(kits.build("K-BACK"))
    Event.objects.filter(pk=closed.pk).update(status=EventStatus.CLOSED)  # checked in
    assert Event.objects.filter(event_type="loan").count() == 2
    client.force_login(world.admin)
    html = client.get(reverse("billing:queue")).content.decode()
    assert html.count("<tr data-event=") == 1 and "Queue 0" in html
    assert "K-OUT" not in html and "Loan" not in html and "On loan" not in html
    assert "Closed <span class=\"badge text-bg-light\">0</span>" in html
    assert "Pending PO <span class=\"badge text-bg-light\">1</span>" in html
    html = client.get(reverse("billing:queue"), {"status": "closed"}).content.decode()
    assert "<tr data-event=" not in html
    rows = list(csv.reader(io.StringIO(client.get(reverse("billing:export")).getvalue().decode())))
    assert [row[0] for row in rows[1:]] == ["Queue 0"]
