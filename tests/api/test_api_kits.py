"""The kit and loan endpoints: reads scoped as the kit pages, writes through the kit and loan
services (the same rules, roles and messages), one error shape."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from events.models import Event, EventStatus
from inventory.models import Device, DeviceStatus, Kit, StockAdjustment, Transfer
from tests.kits.conftest import build_kits

pytestmark = pytest.mark.django_db


@pytest.fixture
def kits(world):
    return build_kits(world)


def test_templates_and_a_kit_with_its_contents_against_the_template(
    world, kits, api_as, django_assert_max_num_queries
):
    kit = kits.build("K-1", screws=2, plates=2)  # one screw short
    api = api_as(world.rep)
    templates = api.get("/api/v1/kit-templates/").json()["results"]
    assert [
        (t["name"], [(i["product"]["id"], i["quantity"]) for i in t["items"]]) for t in templates
    ] == [("Pedicle Screw Set 5.5", [(kits.plate.pk, 2), (kits.screw.pk, 3)])]
    body = api.get(f"/api/v1/kits/{kit.pk}/").json()
    assert (body["tag"], body["status"], body["state"], body["short"]) == (
        "K-1",
        "available",
        "short",
        1,
    )
    assert body["custodian"]["id"] == world.rep.pk and body["loan"] is None
    assert {
        (r["product"]["id"], r["required"], r["held"], r["short"]) for r in body["contents"]
    } == {(kits.screw.pk, 3, 2, 1), (kits.plate.pk, 2, 2, 0)}
    assert body["device_ids"] == sorted(d.pk for d in kits.members(kit))
    for n in range(3):
        kits.build(f"K-{n + 2}")
    with django_assert_max_num_queries(12):
        listed = api.get("/api/v1/kits/").json()["results"]
    assert {(k["tag"], k["state"], k["units"]) for k in listed} == {
        ("K-1", "short", 4),
        ("K-2", "complete", 5),
        ("K-3", "complete", 5),
        ("K-4", "complete", 5),
    }


def test_a_rep_sees_only_the_kits_in_their_custody(world, kits, api_as):
    mine = kits.build("K-1")
    theirs = kits.build("K-2", custodian=world.rep2)
    api = api_as(world.rep)
    assert [k["id"] for k in api.get("/api/v1/kits/").json()["results"]] == [mine.pk]
    assert api.get(f"/api/v1/kits/{theirs.pk}/").status_code == 404
    assert api_as(world.manager).get(f"/api/v1/kits/{theirs.pk}/").status_code == 200


def test_a_rep_builds_a_kit_and_packs_it_through_the_service(world, kits, api_as):
    screws = world.devices(3, product=kits.screw)
    plates = world.devices(2, product=kits.plate)
    api = api_as(world.rep)
    built = api.post(
        "/api/v1/kits/",
        {
            "template": kits.template.pk,
            "tag": "k-9",
            "custodian": world.rep.pk,
            "device_ids": [d.pk for d in screws],
        },
    )
    assert built.status_code == 201, built.content
    body = built.json()
    assert (body["tag"], body["units"], body["state"]) == ("K-9", 3, "short")
    kit_id = body["id"]
    packed = api.post(f"/api/v1/kits/{kit_id}/devices/", {"device_ids": [d.pk for d in plates]})
    assert packed.status_code == 200, packed.content
    assert packed.json()["state"] == "complete"
    extra = world.devices(1, product=kits.plate)[0]
    refused = api.post(f"/api/v1/kits/{kit_id}/devices/", {"device_ids": [extra.pk]})
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        f"{extra.label}: kit K-9 already holds the PLT-2 units its template asks for."
    ]
    assert Device.objects.get(pk=extra.pk).kit_id is None
    # A rep builds only in their own custody: the service's refusal, a 403.
    other = api.post(
        "/api/v1/kits/", {"template": kits.template.pk, "tag": "K-10", "custodian": world.rep2.pk}
    )
    assert other.status_code == 403
    assert other.json()["detail"] == "A rep builds kits in their own custody."
    duplicate = api.post(
        "/api/v1/kits/", {"template": kits.template.pk, "tag": "K-9", "custodian": world.rep.pk}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == ["Kit tag K-9 is already in use."]


def test_a_kit_transfer_waits_for_the_recipient_who_accepts_it(world, kits, api_as):
    kit = kits.build("K-1")
    sent = api_as(world.rep).post(
        f"/api/v1/kits/{kit.pk}/transfer/", {"to_custodian": world.rep2.pk}
    )
    assert sent.status_code == 201, sent.content
    assert sent.json()["status"] == Transfer.Status.PENDING
    assert sent.json()["device_ids"] == sorted(d.pk for d in kits.members(kit))
    assert Kit.objects.get(pk=kit.pk).status == Kit.Status.IN_TRANSIT
    again = api_as(world.rep).post(
        f"/api/v1/kits/{kit.pk}/transfer/", {"to_custodian": world.rep2.pk}
    )
    assert again.status_code == 400
    assert again.json()["detail"] == "kit K-1 is in transit: transfer it when it is back."
    accepted = api_as(world.rep2).post(f"/api/v1/transfers/{sent.json()['id']}/accept/")
    assert accepted.status_code == 200, accepted.content
    kit.refresh_from_db()
    assert (kit.status, kit.custodian_id) == (Kit.Status.AVAILABLE, world.rep2.pk)
    assert {d.custodian_id for d in kits.members(kit)} == {world.rep2.pk}


def test_a_loan_sent_and_checked_in_with_a_lost_unit(world, kits, api_as):
    kit = kits.build("K-1")
    members = kits.members(kit)
    api = api_as(world.rep)
    today = timezone.localdate()
    sent = api.post(
        "/api/v1/loans/",
        {
            "kit_ids": [kit.pk],
            "facility": world.st_marys.pk,
            "representative": world.rep.pk,
            "date": today.isoformat(),
            "due_back": (today + datetime.timedelta(days=3)).isoformat(),
        },
    )
    assert sent.status_code == 201, sent.content
    loan = sent.json()
    assert loan["status"] == EventStatus.ON_LOAN
    assert loan["kits"] == [{"id": kit.pk, "tag": "K-1", "status": "loaned", "checked_in": False}]
    read = api.get(f"/api/v1/kits/{kit.pk}/").json()
    assert read["loan"]["id"] == loan["id"] and read["facility"]["id"] == world.st_marys.pk
    assert [item["id"] for item in api.get("/api/v1/loans/").json()["results"]] == [loan["id"]]

    # A unit neither scanned back nor reported lost: the service's message, nothing changes.
    short = api.post(
        f"/api/v1/kits/{kit.pk}/check-in/", {"present_ids": [d.pk for d in members[1:]]}
    )
    assert short.status_code == 400
    assert short.json()["errors"] == [
        f"{members[0].label} is unaccounted for: scan it back, charge it to a case or report "
        "it lost."
    ]
    assert Kit.objects.get(pk=kit.pk).status == Kit.Status.LOANED

    done = api.post(
        f"/api/v1/kits/{kit.pk}/check-in/",
        {
            "present_ids": [d.pk for d in members[1:]],
            "lost_ids": [members[0].pk],
            "note": "not found in the OR",
        },
    )
    assert done.status_code == 200, done.content
    result = done.json()
    assert result["returned"] == [d.pk for d in members[1:]]
    assert result["lost"] == [members[0].pk] and result["loan_closed"] is True
    assert StockAdjustment.objects.get(pk=result["adjustment"]).reason == "lost"
    assert result["kit"]["status"] == "available" and result["kit"]["short"] == 1
    assert Device.objects.get(pk=members[0].pk).status == DeviceStatus.REMOVED
    assert Event.objects.get(pk=loan["id"]).status == EventStatus.CLOSED
    twice = api.post(
        f"/api/v1/kits/{kit.pk}/check-in/", {"present_ids": [d.pk for d in members[1:]]}
    )
    assert twice.status_code == 400
    assert twice.json()["detail"] == "kit K-1 was already checked in."


def test_a_loan_of_a_kit_the_caller_cannot_see_or_a_manager_loan_is_refused(world, kits, api_as):
    theirs = kits.build("K-2", custodian=world.rep2)
    today = timezone.localdate().isoformat()
    body = {
        "kit_ids": [theirs.pk],
        "facility": world.st_marys.pk,
        "representative": world.rep.pk,
        "date": today,
        "due_back": today,
    }
    refused = api_as(world.rep).post("/api/v1/loans/", body)
    assert refused.status_code == 400
    assert refused.json()["errors"] == [f"No kit #{theirs.pk} is in your kits."]
    manager = api_as(world.manager).post("/api/v1/loans/", body)
    assert manager.status_code == 403
    assert not Event.objects.filter(event_type="loan").exists()


def test_the_loan_and_template_lists_do_not_grow_with_their_rows(
    world, kits, api_as, django_assert_max_num_queries
):
    for n in range(3):
        kits.loan(kits.build(f"K-{n}"))
    api = api_as(world.admin)
    with django_assert_max_num_queries(8):
        loans = api.get("/api/v1/loans/").json()["results"]
    assert sorted(kit["tag"] for loan in loans for kit in loan["kits"]) == ["K-0", "K-1", "K-2"]
    with django_assert_max_num_queries(8):
        templates = api.get("/api/v1/kit-templates/").json()["results"]
    assert [len(t["items"]) for t in templates] == [2]
