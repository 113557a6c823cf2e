"""PO uploads, redirects, the patient-ID access log, response headers and the session timeout."""

import time

import pytest
from django.urls import reverse
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from accounts.middleware import LAST_SEEN
from accounts.models import PatientAccess
from billing.models import PurchaseOrder
from inventory.services import devices_transfer
from tests.billing._billing import billable_event, private_storage  # noqa: F401  (autouse)
from tests.factories import blank_pdf

pytestmark = pytest.mark.django_db


def action(kind: str, **entries) -> DictionaryObject:
    return DictionaryObject({
        NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind),
        **{NameObject(k): v for k, v in entries.items()},
    })


@pytest.fixture
def case(world, django_capture_on_commit_callbacks):
    return billable_event(world, django_capture_on_commit_callbacks, patient_id="PT-8841")


def record_po(client, event, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("billing:po_record", args=[event.pk]), {
        "number": "PO-1", "pdf_file": SimpleUploadedFile("po.pdf", data, "application/pdf"),
    })


# --- PO uploads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("data, reason", [
    (blank_pdf(**{"/OpenAction": action(
        "/JavaScript", **{"/JS": TextStringObject("app.alert(1)")})}), "JavaScript"),
    (blank_pdf(**{"/OpenAction": action("/Launch", **{"/F": TextStringObject("calc.exe")})}),
     "a launch action"),
    (blank_pdf(**{"/Names": DictionaryObject({NameObject("/EmbeddedFiles"): DictionaryObject({
        NameObject("/Names"): ArrayObject([])})})}), "embedded files"),
    (blank_pdf(**{"/AA": DictionaryObject({NameObject("/WC"): action("/SubmitForm")})}),
     "a form-submit action"),
    (b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n"
     + blank_pdf()[9:], "HTML or SVG markup"),
    (b"%PDF-1.7\nthis is not really a PDF at all\n%%EOF\n", "it cannot be read as a PDF"),
])
def test_a_po_pdf_with_active_content_or_no_pdf_inside_is_refused(client, world, case, data,
                                                                  reason):
    client.force_login(world.admin)
    response = record_po(client, case, data)
    assert response.status_code == 400  # the form again, saying why
    html = response.content.decode()
    assert "This PO file is refused" in html and reason in html
    assert not PurchaseOrder.objects.exists()


def test_a_clean_po_is_served_as_a_sandboxed_attachment(client, world, case):
    client.force_login(world.admin)
    assert record_po(client, case, blank_pdf()).status_code == 302
    response = client.get(reverse("billing:po_pdf", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "https:///evil.example", "javascript:alert(1)",
                                    # Not a path: redirect() took it for a view name (a 500).
                                    "abc", "inventory:transfer_list", "a.b"])
def test_next_never_leaves_our_host(client, world, target):
    devices = world.devices(1)
    transfer = devices_transfer(actor=world.rep, devices=devices, to_custodian=world.rep2)
    client.force_login(world.rep2)
    response = client.post(reverse("inventory:transfer_accept", args=[transfer.pk]),
                           {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:transfer_detail", args=[transfer.pk])


def test_next_on_our_host_is_followed(client, world):
    devices = world.devices(1)
    transfer = devices_transfer(actor=world.rep, devices=devices, to_custodian=world.rep2)
    client.force_login(world.rep2)
    response = client.post(reverse("inventory:transfer_accept", args=[transfer.pk]),
                           {"next": "/inventory/transfers/"})
    assert response["Location"] == "/inventory/transfers/"


# --- the patient-ID access log -----------------------------------------------------------------


def logged() -> list[tuple]:
    return list(PatientAccess.objects.order_by("id").values_list("user__username", "patient_id",
                                                                 "what"))


def test_every_view_and_export_of_a_patient_id_is_logged(client, world, case):
    device = case.lines.first().device
    client.force_login(world.manager)
    for url in [
        reverse("events:detail", args=[case.pk]),
        reverse("billing:sales_order_pdf", args=[case.pk]),
        reverse("inventory:device_detail", args=[device.pk]),
        reverse("inventory:recall_trace") + f"?manufacturer={world.maker.pk}&lot={device.lot}",
        reverse("inventory:recall_export") + f"?manufacturer={world.maker.pk}&lot={device.lot}",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        b"".join(response) if response.streaming else response.content
    who = world.manager.username
    assert logged() == [
        (who, "PT-8841", "event page"), (who, "PT-8841", "sales order PDF"),
        (who, "PT-8841", "device history"), (who, "PT-8841", "recall trace"),
        (who, "PT-8841", "recall trace CSV"),
    ]
    entry = PatientAccess.objects.order_by("id").first()
    assert entry.organization_id == world.org.pk and entry.subject == str(case)


def test_a_page_without_patient_ids_logs_nothing(client, world):
    order = world.event("stocking_order")
    client.force_login(world.manager)
    assert client.get(reverse("events:detail", args=[order.pk])).status_code == 200
    assert logged() == []


def test_admins_read_the_log_in_the_admin_and_managers_do_not(client, world, case):
    client.force_login(world.manager)
    client.get(reverse("events:detail", args=[case.pk]))
    url = reverse("admin:accounts_patientaccess_changelist")
    assert client.get(url).status_code == 403
    client.force_login(world.admin)
    html = client.get(url).content.decode()
    assert "PT-8841" in html and "event page" in html


# --- headers and sessions ------------------------------------------------------------------------


def test_pages_pdfs_and_csvs_with_patient_ids_are_not_stored(client, world, case):
    device = case.lines.first().device
    client.force_login(world.admin)
    for url in [
        reverse("events:detail", args=[case.pk]),
        reverse("billing:sales_order_pdf", args=[case.pk]),
        reverse("inventory:recall_export") + f"?manufacturer={world.maker.pk}&lot={device.lot}",
        reverse("inventory:device_detail", args=[device.pk]),
    ]:
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], url
        # The camera only for our own origin (the "Scan with camera" button), nothing else.
        assert "camera=(self)" in response["Permissions-Policy"]


def test_the_login_page_carries_a_permissions_policy(client):
    response = client.get(reverse("login"))
    assert "geolocation=()" in response["Permissions-Policy"]


def test_an_idle_session_is_logged_out(client, world, settings):
    client.force_login(world.rep)
    home = reverse("home")
    assert client.get(home).status_code == 200
    session = client.session
    session[LAST_SEEN] = int(time.time()) - settings.SESSION_IDLE_MINUTES * 60 - 1
    session.save()
    response = client.get(home)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_an_active_session_slides_forward(client, world, settings):
    client.force_login(world.rep)
    session = client.session
    session[LAST_SEEN] = int(time.time()) - settings.SESSION_IDLE_MINUTES * 60 + 120
    session.save()
    assert client.get(reverse("home")).status_code == 200
    assert client.session[LAST_SEEN] >= int(time.time()) - 5
