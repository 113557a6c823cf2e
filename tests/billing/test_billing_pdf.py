"""Sales order and invoice PDFs: rendered once when issued, stored with their hash, read back."""

import hashlib
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from billing import documents as billing
from billing.documents import document_pdf_bytes
from billing.models import SalesOrder
from core import pdf
from core.pdf import PDF_BASE_URL, StaticOnlyURLFetcher
from events.models import EventStatus
from tests.billing._billing import (  # noqa: F401  (private_storage is an autouse fixture)
    billable_event,
    pdf_pages,
    pdf_text,
    private_storage,
    submit_rendered,
)
from tests.factories import FacilityContactFactory

pytestmark = pytest.mark.django_db


def stored_bytes(document) -> bytes:
    with document.pdf.open("rb") as handle:
        return handle.read()


def test_sales_order_is_rendered_when_issued_and_reads_back(
    world, django_capture_on_commit_callbacks
):
    contact = FacilityContactFactory(facility=world.st_marys, organization=world.org,
                                     name="Dana Buyer")
    event = world.event("case", surgeon="Dr. Grey", patient_id="PT-7731",
                        facility_contact=contact, name="Knee 14 May")
    devices = world.devices(3)
    world.add(event, devices)
    event = submit_rendered(world, event, django_capture_on_commit_callbacks)

    order = event.sales_order
    assert order.number == "SO-000001"
    data = stored_bytes(order)
    assert data.startswith(b"%PDF-")
    assert order.sha256 == hashlib.sha256(data).hexdigest()
    text = pdf_text(data)
    for expected in ["SALES ORDER", "SO-000001", "St. Mary's", "BILL TO", "SHIP TO",
                     "Dana Buyer", "Dr. Grey", "PT-7731", "Ann Rep", "Knee 14 May",
                     "3,000.00", world.product.reference, devices[0].lot]:
        assert expected in text, expected
    for device in devices:
        assert device.serial in text
    assert event.status == EventStatus.PENDING_PO


def test_fonts_are_embedded(world, django_capture_on_commit_callbacks):
    event = billable_event(world, django_capture_on_commit_callbacks, n=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "so.pdf"
        path.write_bytes(stored_bytes(event.sales_order))
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                               check=True).stdout
    dejavu = [line for line in fonts.splitlines() if "DejaVu" in line]
    assert dejavu, fonts
    assert all(" yes " in line for line in dejavu)  # "emb" column


def test_facility_stock_case_is_no_charge_and_names_the_stocking_order(
    world, django_capture_on_commit_callbacks
):
    devices = world.facility_stock(2)
    stocking = SalesOrder.objects.get(event__event_type="stocking_order")
    case = world.event("case", facility_stock_only=True, name="Hip 2 June")
    world.add(case, devices)
    case = submit_rendered(world, case, django_capture_on_commit_callbacks)

    assert case.status == EventStatus.CLOSED
    assert case.sales_order.total == 0
    text = pdf_text(stored_bytes(case.sales_order))
    assert case.sales_order.number in text
    assert "no charge" in text.lower()
    assert text.count("No charge") == 2  # one per line
    assert text.count(stocking.number) >= 2  # each line names the stocking order that sold it
    assert stocking.event.name in text
    assert "0.00 (no charge)" in text
    assert "1,000.00" not in text
    for device in devices:
        assert device.serial in text


def test_forty_lines_run_onto_a_second_page_with_the_header_repeated(
    world, django_capture_on_commit_callbacks
):
    event = billable_event(world, django_capture_on_commit_callbacks, n=40,
                           event_type="stocking_order")
    data = stored_bytes(event.sales_order)
    assert pdf_pages(data) >= 2
    page2 = pdf_text(data, first=2, last=2)
    assert "Catalogue #" in page2 and "Description" in page2 and "Serial" in page2
    assert event.sales_order.number in page2  # running header
    assert "Page 2 of" in page2
    assert "40,000.00" in pdf_text(data)


def test_an_issued_document_is_never_rendered_again(world, django_capture_on_commit_callbacks):
    event = billable_event(world, django_capture_on_commit_callbacks)
    order = event.sales_order
    before = stored_bytes(order)
    with pytest.raises(ValidationError, match="never rendered again"):
        billing.document_store_pdf(document=order)
    order.refresh_from_db()
    assert stored_bytes(order) == before
    assert order.sha256 == hashlib.sha256(before).hexdigest()


def test_a_failed_render_after_commit_is_retried_on_first_download(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    real = billing.document_render

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(billing, "document_render", broken)
    event = billable_event(world, django_capture_on_commit_callbacks)  # robust: logged, not raised
    order = SalesOrder.objects.get(pk=event.sales_order.pk)
    assert not order.pdf and not order.sha256

    monkeypatch.setattr(billing, "document_render", real)
    first = document_pdf_bytes(document=order)
    order.refresh_from_db()
    assert order.sha256 == hashlib.sha256(first).hexdigest()
    assert "SO-000001" in pdf_text(first)
    assert document_pdf_bytes(document=order) == first


def test_tampered_stored_pdf_is_refused(world, django_capture_on_commit_callbacks):
    order = billable_event(world, django_capture_on_commit_callbacks).sales_order
    path = Path(order.pdf.path)
    path.write_bytes(path.read_bytes() + b"%tampered")
    with pytest.raises(billing.DocumentIntegrityError):
        document_pdf_bytes(document=order)


# --- the URL fetcher ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/",
    "https://example.com/static/css/pdf.css",
    "file:///etc/passwd",
    "data:image/png;base64,iVBORw0KGgo=",
    PDF_BASE_URL + "static/../../etc/passwd",
    PDF_BASE_URL + "static/%2e%2e/%2e%2e/etc/passwd",
    PDF_BASE_URL + "etc/passwd",
    PDF_BASE_URL + "static/does-not-exist.css",
])
def test_fetcher_refuses_everything_but_our_static_files(url):
    fetcher = StaticOnlyURLFetcher()
    with pytest.raises(ValueError, match="only read our static files"):
        fetcher(url)
    assert fetcher.refused == [url]


def test_fetcher_reads_our_static_files():
    response = StaticOnlyURLFetcher()(PDF_BASE_URL + "static/css/pdf.css")
    assert b"@font-face" in response.read()
    assert response.content_type == "text/css"


HOSTILE = {
    "name": '<img src="http://127.0.0.1/">',
    "address": "file:///etc/passwd\n<link rel=stylesheet href=\"file:///etc/passwd\">",
    "surgeon": '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
}


def test_hostile_field_values_render_as_text_and_fetch_nothing(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    fetchers = []

    class Spy(StaticOnlyURLFetcher):
        def __init__(self):
            super().__init__()
            fetchers.append(self)

    monkeypatch.setattr(pdf, "StaticOnlyURLFetcher", Spy)
    world.st_marys.name = HOSTILE["name"]
    world.st_marys.address = HOSTILE["address"]
    world.st_marys.save()
    event = billable_event(world, django_capture_on_commit_callbacks, surgeon=HOSTILE["surgeon"])

    requested = [url for fetcher in fetchers for url in fetcher.requested]
    assert requested, "the spy saw the render"
    assert all(url.startswith(PDF_BASE_URL + "static/") for url in requested), requested
    assert not [url for fetcher in fetchers for url in fetcher.refused]
    text = " ".join(pdf_text(stored_bytes(event.sales_order)).split())
    assert '<img src="http://127.0.0.1/">' in text
    assert "file:///etc/passwd" in text
    assert "root:x:0:0" not in text
    assert "<svg onload=alert(1)>" in text
