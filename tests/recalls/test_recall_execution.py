"""Carrying a recall out: the pages (holders, facilities, cases with patient IDs for whom may
see them, logged), the letters (rendered, emailed with the signed link), acknowledgements (rep,
signed link: expiring, forged), closing (everything accounted for), the report (PDF, CSV), the
webhook, and tenant isolation of every recall URL."""

from __future__ import annotations

import pytest
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from accounts.models import PatientAccess
from core.models import OutboxMessage
from inventory.models import Device, DeviceStatus, Recall, RecallStatus
from inventory.services import AdjustmentLine, stock_adjustment_create
from recalls.models import RecallNotice
from recalls.services import ack_token, notice_acknowledge, recall_close, recall_start
from tests.billing._billing import pdf_text
from tests.events.conftest import build_world
from tests.factories import FacilityContactFactory, blank_pdf

Q = DeviceStatus.QUARANTINED


def spread_lot(world):
    """LOT-R over two reps, the warehouse and two hospitals, and used in a case at Mercy."""
    rep_units = world.devices(2, lot="LOT-R")
    rep2_units = world.devices(1, lot="LOT-R", custodian=world.rep2)
    warehouse = world.devices(1, lot="LOT-R", custodian=world.admin)
    st_marys = world.devices(2, lot="LOT-R")
    world.stocking_order(st_marys, facility=world.st_marys)
    mercy = world.devices(1, lot="LOT-R")
    world.stocking_order(mercy, facility=world.mercy)
    used = world.devices(1, lot="LOT-R")
    case = world.event("case", facility=world.mercy, patient_id="PT-4471", surgeon="Dr Who")
    world.add(case, used)
    world.submit(case)
    return {
        "rep": rep_units,
        "rep2": rep2_units,
        "warehouse": warehouse,
        "st_marys": st_marys,
        "mercy": mercy,
        "used": used,
        "case": case,
    }


def start(world, **extra) -> Recall:
    fields = {
        "manufacturer": world.maker,
        "reference": "R-2026-001",
        "reason": "Thread strips.",
        "recall_class": "II",
        "action": "return",
        "scope": "lots",
        "lots": ["LOT-R"],
    }
    return recall_start(actor=world.admin, **(fields | extra))


def test_opening_from_the_form_quarantines_and_prepares_one_letter_per_facility(client, world):
    units = spread_lot(world)
    client.force_login(world.admin)
    notice = blank_pdf()

    response = client.post(
        reverse("recalls:create"),
        {
            "manufacturer": world.maker.pk,
            "reference": "R-2026-001",
            "recall_class": "II",
            "action": "return",
            "reason": "Thread strips.",
            "scope": "lots",
            "lots": "LOT-R\nLOT-X",
            "notice": SimpleUploadedFile("notice.pdf", notice, content_type="application/pdf"),
        },
    )
    recall = Recall.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("recalls:detail", args=[recall.pk])
    assert recall.lots == ["LOT-R", "LOT-X"]
    quarantined = Device.objects.filter(status=Q).count()
    assert quarantined == 7
    assert set(RecallNotice.objects.values_list("facility__name", flat=True)) == {
        "St. Mary's",
        "Mercy General",
    }
    page = client.get(response["Location"]).content.decode()
    assert "7 units quarantined" in page
    assert client.get(reverse("recalls:notice_pdf", args=[recall.pk])).content == notice
    assert units["used"][0].pk not in RecallUnitIds(recall)


def RecallUnitIds(recall):  # noqa: N802 - reads as a set
    return set(recall.units.values_list("device_id", flat=True))


def test_the_form_refuses_an_incomplete_scope_and_a_non_pdf_notice(client, world):
    client.force_login(world.admin)
    response = client.post(
        reverse("recalls:create"),
        {
            "manufacturer": world.maker.pk,
            "reference": "R-1",
            "recall_class": "I",
            "action": "destroy",
            "reason": "x",
            "scope": "serial_range",
            "serial_from": "0100",
            "notice": SimpleUploadedFile("notice.pdf", b"<html>", content_type="application/pdf"),
        },
    )
    assert response.status_code == 200
    assert "The notice must be a PDF file." in response.content.decode()
    response = client.post(
        reverse("recalls:create"),
        {
            "manufacturer": world.maker.pk,
            "reference": "R-1",
            "recall_class": "I",
            "action": "destroy",
            "reason": "x",
            "scope": "serial_range",
            "serial_from": "0100",
        },
    )
    assert "Enter the first and the last serial number of the range." in (response.content.decode())
    assert not Recall.objects.exists()


def test_the_recall_page_shows_each_holder_and_facility_and_logs_patient_ids(
    client, world, django_assert_max_num_queries
):
    spread_lot(world)
    recall = start(world)
    client.force_login(world.admin)
    url = reverse("recalls:detail", args=[recall.pk])
    with django_assert_max_num_queries(20):
        response = client.get(url)
    holders = {h.name: (h.label, h.total, h.back) for h in response.context["holders"]}
    assert holders == {
        "Ann Rep": ("Rep", 2, 0),
        "Bob Cover": ("Rep", 1, 0),
        world.admin.get_full_name(): ("Warehouse", 1, 0),
        "St. Mary's": ("Facility", 2, 0),
        "Mercy General": ("Facility", 1, 0),
    }
    page = response.content.decode()
    assert "PT-4471" in page and "Dr Who" in page
    [access] = PatientAccess.objects.filter(user=world.admin)
    assert (access.patient_id, access.what) == ("PT-4471", "recall page")
    # The bound does not grow with the units: a second lot of ten more units.
    world.devices(10, lot="LOT-R2")
    bigger = start(world, reference="R-2", lots=["LOT-R2", "LOT-R"])
    with django_assert_max_num_queries(20):
        client.get(reverse("recalls:detail", args=[bigger.pk]))
    # A rep who did not run the case sees the case, not the patient.
    client.force_login(world.rep2)
    page = client.get(url).content.decode()
    assert "PT-4471" not in page and "hidden" in page
    assert not PatientAccess.objects.filter(user=world.rep2).exists()


def test_letters_are_rendered_and_emailed_with_a_signed_link(
    client, world, django_capture_on_commit_callbacks
):
    units = spread_lot(world)
    recall = start(world)
    FacilityContactFactory(
        facility=world.st_marys, organization=world.org, email="materials@stmarys.example"
    )
    client.force_login(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("recalls:letters_send", args=[recall.pk]))
    assert response.status_code == 302
    [message] = mail.outbox  # Mercy General has no contact with an email: the rep delivers it
    assert message.to == ["materials@stmarys.example"]
    assert "R-2026-001" in message.subject
    [(filename, data, mimetype)] = message.attachments
    assert mimetype == "application/pdf"
    text = pdf_text(data)
    assert "MEDICAL DEVICE RECALL" in text and "St. Mary's" in text
    for device in units["st_marys"]:
        assert device.serial in text
    notice = RecallNotice.objects.get(facility=world.st_marys)
    assert notice.sent_to == "materials@stmarys.example" and notice.sha256
    link = next(line for line in message.body.splitlines() if "/recalls/acknowledge/" in line)
    mercy = pdf_text(
        client.get(
            reverse(
                "recalls:letter_pdf",
                args=[recall.pk, RecallNotice.objects.get(facility=world.mercy).pk],
            )
        ).content
    )
    assert "Dr Who" in mercy and "PT-4471" not in mercy  # the case, never the patient ID

    # The contact opens the link without logging in and acknowledges.
    client.logout()
    path = link[link.index("/recalls/") :]
    page = client.get(path)
    assert page.status_code == 200 and "Recall R-2026-001" in page.content.decode()
    client.post(path, {"name": "Jo Materials"})
    notice.refresh_from_db()
    assert notice.acknowledged_name == "Jo Materials" and notice.acknowledged_by is None
    assert "Acknowledged on" in client.get(path).content.decode()


def test_a_forged_or_expired_link_acknowledges_nothing(client, world):
    spread_lot(world)
    recall = start(world)
    notice = RecallNotice.objects.get(recall=recall, facility=world.mercy)
    token = ack_token(notice)
    forged = signing.TimestampSigner(salt="another").sign(str(notice.pk))
    assert client.get(reverse("recalls:acknowledge_link", args=[forged])).status_code == 404
    assert (
        client.post(
            reverse("recalls:acknowledge_link", args=[token[:-2] + "xx"]), {"name": "Eve"}
        ).status_code
        == 404
    )
    with override_settings(RECALL_ACK_LINK_DAYS=-1):
        response = client.post(reverse("recalls:acknowledge_link", args=[token]), {"name": "Late"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    notice.refresh_from_db()
    assert notice.acknowledged_at is None


def test_a_rep_records_acknowledgement_only_for_a_facility_they_cover(client, world):
    spread_lot(world)
    recall = start(world)
    notice = RecallNotice.objects.get(recall=recall, facility=world.mercy)
    url = reverse("recalls:acknowledge", args=[recall.pk, notice.pk])
    client.force_login(world.rep2)
    refused = client.post(url, {"name": "Dr Mercy"}, follow=True)
    assert [str(m) for m in refused.context["messages"]] == [
        "Only a rep covering this facility (or an admin) can record its acknowledgement."
    ]
    notice.refresh_from_db()
    assert notice.acknowledged_at is None
    world.mercy.reps.add(world.rep2)
    response = client.post(url, {"name": "Dr Mercy"}, follow=True)
    notice.refresh_from_db()
    assert notice.acknowledged_by == world.rep2 and notice.acknowledged_name == "Dr Mercy"
    assert [str(m) for m in response.context["messages"]] == [
        "Mercy General's acknowledgement is recorded."
    ]
    client.force_login(world.manager)
    assert client.post(url, {"name": "x"}).status_code == 403


def test_close_needs_every_unit_back_and_every_facility_acknowledged(client, world):
    units = spread_lot(world)
    recall = start(world)
    client.force_login(world.admin)
    response = client.post(reverse("recalls:close", args=[recall.pk]), follow=True)
    page = response.content.decode()
    assert "7 units are still quarantined" in page and "Not acknowledged yet" in page
    # Facility stock comes back by Returns (credit memo), rep stock by stock adjustments.
    for facility, devices in ((world.st_marys, units["st_marys"]), (world.mercy, units["mercy"])):
        back = world.event("return", facility=facility)
        world.add(back, devices)
        world.submit(back)
    rep_stock = units["rep"] + units["rep2"] + units["warehouse"]
    stock_adjustment_create(
        actor=world.admin,
        reason="returned",
        lines=[AdjustmentLine(device=d, effect="remove") for d in rep_stock[:-1]],
    )
    with pytest.raises(Exception, match="1 unit is still quarantined"):
        recall_close(actor=world.admin, recall=recall)
    stock_adjustment_create(
        actor=world.admin,
        reason="destroyed",
        lines=[AdjustmentLine(device=rep_stock[-1], effect="remove")],
    )
    for notice in RecallNotice.objects.filter(recall=recall):
        notice_acknowledge(actor=world.admin, notice=notice, name="Materials")
    client.post(reverse("recalls:close", args=[recall.pk]))
    recall.refresh_from_db()
    assert recall.status == RecallStatus.CLOSED and recall.closed_by == world.admin
    report = pdf_text(client.get(reverse("recalls:report_pdf", args=[recall.pk])).content)
    assert "RECALL REPORT" in report and "7 of 7 accounted for" in report
    assert "2 of 2 acknowledged" in report
    csv = b"".join(
        client.get(reverse("recalls:report_csv", args=[recall.pk])).streaming_content
    ).decode()
    lines = csv.strip().splitlines()
    assert len(lines) == 1 + 7
    assert sum("Return " in line for line in lines) == 3
    assert sum("Returned to manufacturer" in line for line in lines) == 3
    assert sum("Destroyed" in line for line in lines) == 1
    with pytest.raises(Exception, match="already closed"):
        recall_close(actor=world.admin, recall=recall)


def test_opening_a_recall_emits_the_device_recalled_webhook(world):
    units = spread_lot(world)
    recall = start(world)
    [message] = OutboxMessage.objects.filter(kind="device.recalled")
    assert message.payload["reference"] == "R-2026-001"
    assert message.payload["quarantined"] == 7
    assert {d["id"] for d in message.payload["devices"]} == {
        d.pk for key in ("rep", "rep2", "warehouse", "st_marys", "mercy") for d in units[key]
    }
    assert message.payload["id"] == recall.pk


def test_every_recall_url_is_closed_to_another_organisation(client, world):
    spread_lot(world)
    recall = start(world)
    notice = RecallNotice.objects.filter(recall=recall).first()
    other = build_world()
    client.force_login(other.admin)
    for name, args in (
        ("detail", [recall.pk]),
        ("notice_pdf", [recall.pk]),
        ("letter_pdf", [recall.pk, notice.pk]),
        ("report_pdf", [recall.pk]),
        ("report_csv", [recall.pk]),
    ):
        assert client.get(reverse(f"recalls:{name}", args=args)).status_code == 404, name
    for name, args in (
        ("letters_send", [recall.pk]),
        ("close", [recall.pk]),
        ("acknowledge", [recall.pk, notice.pk]),
    ):
        assert (
            client.post(reverse(f"recalls:{name}", args=args), {"name": "x"}).status_code == 404
        ), name
    page = client.get(reverse("recalls:list")).content.decode()
    assert "R-2026-001" not in page
    notice.refresh_from_db()
    assert notice.acknowledged_at is None
    assert Recall.objects.get(pk=recall.pk).status == RecallStatus.OPEN
    # Managers read; they open, notify and close nothing.
    client.force_login(world.manager)
    assert client.get(reverse("recalls:detail", args=[recall.pk])).status_code == 200
    assert client.get(reverse("recalls:create")).status_code == 403
    assert client.post(reverse("recalls:close", args=[recall.pk])).status_code == 403
