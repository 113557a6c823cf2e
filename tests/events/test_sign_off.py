"""The hospital's sign-off (issue 25, part 5 of the issue): the contact's drawn signature beside
the rep's, organisation settings that require it and a patient-sticker photo, the signatures on
the sales order PDF, the photo served only to who sees the patient ID, with the access log."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import PatientAccess
from billing.documents import document_context, document_render
from events.models import CaseSignOff
from events.signoff_services import case_sign_off_record
from tests.events.conftest import build_world

STROKES = json.dumps([[[10, 20], [120, 80], [240, 40]], [[300, 150], [420, 60]]])
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


def photo(content=PNG, name="sticker.png"):
    return SimpleUploadedFile(name, content, content_type="image/png")


def ready_case(world, **kwargs):
    case = world.event("case", patient_id="PT-4471", **kwargs)
    world.add(case, world.devices(1))
    return case


def test_signatures_are_recorded_and_printed_on_the_sales_order(world):
    case = ready_case(world)
    sign_off = case_sign_off_record(
        actor=world.rep,
        event=case,
        contact_name="Jane Doe",
        contact_title="OR charge nurse",
        contact_signature=STROKES,
        rep_signature=STROKES,
    )
    assert sign_off.contact_polylines() == ["10,20 120,80 240,40", "300,150 420,60"]
    submitted = world.submit(case, actor=world.rep)
    html = document_context(submitted.sales_order)
    assert html["event"].sign_off.contact_name == "Jane Doe"
    pdf = document_render(submitted.sales_order)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Jane Doe, OR charge nurse" in text and "Ann Rep · representative" in text


def test_the_organisation_can_require_the_contacts_signature_and_the_sticker(world):
    world.org.require_contact_signature = True
    world.org.require_sticker_photo = True
    world.org.save()
    case = ready_case(world)
    with pytest.raises(ValidationError) as refused:
        world.submit(case, actor=world.rep)
    assert refused.value.messages[:2] == [
        "The hospital contact's signature is required: collect it under Hospital sign-off.",
        "A photo of the patient sticker is required: take it under Hospital sign-off.",
    ]
    case_sign_off_record(
        actor=world.rep, event=case, contact_name="Jane Doe", contact_signature=STROKES
    )
    with pytest.raises(ValidationError, match="A photo of the patient sticker is required"):
        world.submit(case, actor=world.rep)
    case_sign_off_record(actor=world.rep, event=case, sticker_photo=photo())
    assert world.submit(case, actor=world.rep).sales_order.number.startswith("SO-")
    assert CaseSignOff.objects.get(event=case).contact_name == "Jane Doe"  # kept


@pytest.mark.parametrize(
    "raw, message",
    [
        ("not json", "could not be read"),
        (json.dumps([[[10, 20], [9999, 20]]]), "could not be read"),
        (json.dumps([[[10, 20]]]), "is a dot"),
        (json.dumps({"a": 1}), "could not be read"),
        (json.dumps([[[1, 1]] * 4001]), "too detailed"),
    ],
)
def test_a_garbled_signature_is_refused(world, raw, message):
    case = ready_case(world)
    with pytest.raises(ValidationError, match=message):
        case_sign_off_record(actor=world.rep, event=case, contact_name="X", contact_signature=raw)


def test_sign_off_needs_a_name_an_image_and_a_draft_case(world):
    case = ready_case(world)
    with pytest.raises(ValidationError, match="Enter the name of the contact"):
        case_sign_off_record(actor=world.rep, event=case, contact_signature=STROKES)
    with pytest.raises(ValidationError, match="must be a JPEG, PNG or WebP"):
        case_sign_off_record(
            actor=world.rep, event=case, sticker_photo=photo(b"<html>not a picture</html>", "x.png")
        )
    with pytest.raises(Exception, match="Only the event's representative or an admin"):
        case_sign_off_record(actor=world.rep2, event=case, rep_signature=STROKES)
    order = world.event("stocking_order")
    with pytest.raises(ValidationError, match="The hospital signs off a case"):
        case_sign_off_record(actor=world.admin, event=order, rep_signature=STROKES)
    assert not CaseSignOff.objects.exists()


def test_the_sticker_photo_is_served_to_who_sees_the_patient_id_and_logged(client, world):
    case = ready_case(world)
    client.force_login(world.rep)
    response = client.post(
        reverse("events:sign_off", args=[case.pk]),
        {
            "contact_name": "Jane Doe",
            "contact_title": "Nurse",
            "contact_signature": STROKES,
            "rep_signature": STROKES,
            "sticker_photo": photo(),
        },
    )
    assert response.status_code == 302
    url = reverse("events:sticker_photo", args=[case.pk])
    page = client.get(reverse("events:sign_off", args=[case.pk])).content.decode()
    assert 'data-testid="contact-signed"' in page and "<polyline" in page and url in page

    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content == PNG and "no-store" in response["Cache-Control"]
    for who in (world.manager, world.admin):
        client.force_login(who)
        assert client.get(url).status_code == 200
    assert sorted(
        PatientAccess.objects.filter(what="patient sticker photo").values_list(
            "user__username", "patient_id"
        )
    ) == sorted((u.username, "PT-4471") for u in (world.rep, world.manager, world.admin))
    client.force_login(world.rep2)  # not their case: they don't see its patient ID
    assert client.get(url).status_code == 404
    other = build_world()
    client.force_login(other.admin)
    assert client.get(url).status_code == 404
    assert client.get(reverse("events:sign_off", args=[case.pk])).status_code == 404
    assert PatientAccess.objects.filter(what="patient sticker photo").count() == 3
