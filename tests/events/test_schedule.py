"""Scheduled cases (issue 25, part 1): a case made ahead for a day and time, with a surgeon and a
procedure from the organisation's directories, copied from an earlier case, a draft until the
day; and the agenda's week (part 2)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from consignment.models import Surgeon
from consignment.services import surgeon_create
from events.models import Event, EventStatus, Procedure
from events.schedule_services import case_schedule, procedure_create
from tests.events.conftest import build_world, in_days


def at(day: datetime.date, hour: int = 8, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def schedule(world, *, day=None, rep=None, actor=None, facility=None, **kwargs):
    return case_schedule(
        actor=actor or world.admin,
        name=kwargs.pop("name", "Case Lopez"),
        scheduled_at=kwargs.pop("scheduled_at", at(day or in_days(1))),
        facility=facility or world.st_marys,
        representative=rep or world.rep,
        manufacturer=world.maker,
        product_line=world.line,
        **kwargs,
    )


@pytest.fixture
def lopez(world) -> Surgeon:
    return surgeon_create(actor=world.rep, facility=world.st_marys, name="Dr. Maria Lopez")


# --- the directories ---------------------------------------------------------------------------


def test_a_surgeon_is_entered_once_and_joins_each_facility(world, lopez):
    again = surgeon_create(actor=world.admin, facility=world.mercy, name="  Dr.  Maria Lopez ")
    assert again.pk == lopez.pk
    assert set(again.facilities.values_list("name", flat=True)) == {"St. Mary's", "Mercy General"}
    assert Surgeon.objects.filter(organization=world.org).count() == 1


def test_a_procedure_is_entered_once_per_organisation(world):
    first = procedure_create(actor=world.rep, name="Lumbar fusion L4-L5")
    assert procedure_create(actor=world.admin, name="Lumbar fusion  L4-L5").pk == first.pk
    other = build_world()
    theirs = procedure_create(actor=other.admin, name="Lumbar fusion L4-L5")
    assert theirs.pk != first.pk and theirs.organization_id == other.org.pk


def test_a_manager_adds_no_directory_entries(world):
    with pytest.raises(PermissionDenied, match="may not add surgeons and procedures"):
        procedure_create(actor=world.manager, name="ACDF")
    with pytest.raises(PermissionDenied):
        surgeon_create(actor=world.manager, facility=world.st_marys, name="Dr. No")
    with pytest.raises(ValidationError, match="Enter the procedure's name"):
        procedure_create(actor=world.rep, name="   ")


# --- scheduling ---------------------------------------------------------------------------------


def test_a_scheduled_case_is_a_draft_case_with_its_time_surgeon_and_procedure(world, lopez):
    fusion = procedure_create(actor=world.rep, name="Lumbar fusion")
    case = schedule(
        world,
        actor=world.rep,
        physician=lopez,
        procedure=fusion,
        scheduled_at=at(in_days(3), 7, 30),
    )
    case.refresh_from_db()
    assert case.is_case and case.status == EventStatus.DRAFT
    assert case.date == in_days(3)
    assert timezone.localtime(case.scheduled_at).time() == datetime.time(7, 30)
    assert case.physician == lopez and case.procedure == fusion
    assert case.surgeon == "Dr. Maria Lopez"  # the text field stays what reports read
    assert case.patient_id == ""


def test_scheduling_refuses_the_past_a_surgeon_of_another_facility_and_another_organisation(
    world, lopez
):
    with pytest.raises(ValidationError, match="is in the past"):
        schedule(world, day=in_days(-1))
    with pytest.raises(
        ValidationError, match="Dr. Maria Lopez is not in the directory of Mercy General"
    ):
        schedule(world, physician=lopez, facility=world.mercy)
    other = build_world()
    their_surgeon = surgeon_create(actor=other.admin, facility=other.st_marys, name="Dr. Far")
    with pytest.raises(ValidationError, match="Dr. Far is not part of your organisation"):
        schedule(world, physician=their_surgeon)
    with pytest.raises(ValidationError, match="A rep can only create events for themself"):
        schedule(world, actor=world.rep, rep=world.rep2)
    with pytest.raises(PermissionDenied):
        schedule(world, actor=world.manager)
    assert not Event.objects.filter(organization=world.org).exists()


def test_a_scheduled_case_is_marked_as_any_case_and_submitted_only_on_its_day(world):
    case = schedule(world, day=in_days(1))
    world.add(case, world.devices(1))
    case.patient_id = "PT-77"
    case.save()
    with pytest.raises(ValidationError, match="is scheduled for .*: submit it on the day"):
        world.submit(case)
    submitted = world.submit(case, today=in_days(1))
    assert submitted.status == EventStatus.PENDING_PO


# --- the pages ----------------------------------------------------------------------------------


def test_schedule_a_case_page_creates_it(client, world, lopez):
    fusion = procedure_create(actor=world.rep, name="Lumbar fusion")
    client.force_login(world.rep)
    page = client.get(reverse("events:schedule"))
    assert page.status_code == 200 and b"Schedule a case" in page.content
    response = client.post(
        reverse("events:schedule"),
        {
            "name": "Case Lopez",
            "date": in_days(2).isoformat(),
            "time": "09:15",
            "facility": world.st_marys.pk,
            "manufacturer": world.maker.pk,
            "product_line": world.line.pk,
            "physician": lopez.pk,
            "procedure": fusion.pk,
        },
    )
    case = Event.objects.get(organization=world.org)
    assert response.status_code == 302 and response.url == reverse("events:detail", args=[case.pk])
    assert case.representative == world.rep and case.date == in_days(2)
    assert timezone.localtime(case.scheduled_at).strftime("%H:%M") == "09:15"


def test_the_page_shows_the_service_refusal_on_the_field(client, world, lopez):
    client.force_login(world.admin)
    response = client.post(
        reverse("events:schedule"),
        {
            "name": "Case",
            "date": in_days(2).isoformat(),
            "time": "09:15",
            "facility": world.mercy.pk,
            "representative": world.rep.pk,
            "manufacturer": world.maker.pk,
            "product_line": world.line.pk,
            "physician": lopez.pk,
        },
    )
    assert response.status_code == 200
    assert "Dr. Maria Lopez is not in the directory of Mercy General" in response.content.decode()
    assert not Event.objects.exists()


def test_copy_fills_the_header_surgeon_and_procedure_not_the_lines_or_patient(client, world, lopez):
    fusion = procedure_create(actor=world.rep, name="Lumbar fusion")
    earlier = schedule(
        world,
        physician=lopez,
        procedure=fusion,
        name="Case Lopez weekly",
        scheduled_at=at(in_days(1), 10, 45),
    )
    world.add(earlier, world.devices(1))
    client.force_login(world.admin)
    page = client.get(reverse("events:schedule"), {"copy": earlier.pk}).content.decode()
    assert 'value="Case Lopez weekly"' in page
    assert f'<option value="{lopez.pk}" selected>' in page
    assert f'<option value="{fusion.pk}" selected>' in page
    assert 'value="10:45"' in page
    # another organisation's case is not copied
    other = build_world()
    theirs = other.event("case", name="Their secret case")
    assert (
        "Their secret case"
        not in client.get(reverse("events:schedule"), {"copy": theirs.pk}).content.decode()
    )


def test_add_new_surgeon_and_procedure_select_the_new_entry(client, world):
    client.force_login(world.rep)
    response = client.post(
        reverse("events:surgeon_add"),
        {"facility": world.st_marys.pk, "name": "Dr. New"},
        HTTP_HX_REQUEST="true",
    )
    surgeon = Surgeon.objects.get(name="Dr. New")
    assert f'<option value="{surgeon.pk}" selected>Dr. New</option>' in response.content.decode()
    assert response["HX-Retarget"] == "#id_physician"
    response = client.post(
        reverse("events:procedure_add"), {"name": "ACDF"}, HTTP_HX_REQUEST="true"
    )
    procedure = Procedure.objects.get(name="ACDF")
    assert f'<option value="{procedure.pk}" selected>ACDF</option>' in response.content.decode()
    options = client.get(
        reverse("events:surgeon_options"), {"facility": world.mercy.pk}
    ).content.decode()
    assert "Dr. New" not in options  # Mercy's surgeons only
    client.force_login(world.manager)
    assert client.post(reverse("events:procedure_add"), {"name": "X"}).status_code == 403


# --- the agenda ---------------------------------------------------------------------------------


def agenda_names(client, **params) -> list[str]:
    response = client.get(reverse("events:agenda"), params)
    assert response.status_code == 200
    return [event.name for day in response.context["days"] for event in day.cases]


def test_the_agenda_shows_each_role_its_cases_of_the_week(
    client, world, django_assert_max_num_queries
):
    monday = in_days(7) - datetime.timedelta(days=in_days(7).weekday())
    schedule(world, name="Ann Tuesday", scheduled_at=at(monday + datetime.timedelta(days=1), 9))
    schedule(world, name="Ann Monday", scheduled_at=at(monday, 8))
    schedule(
        world, name="Bob Monday", rep=world.rep2, facility=world.mercy, scheduled_at=at(monday, 7)
    )
    schedule(world, name="Ann next week", scheduled_at=at(monday + datetime.timedelta(days=7)))
    other = build_world()
    schedule(other, name="Other org", scheduled_at=at(monday))
    week = monday.isoformat()

    client.force_login(world.rep)
    assert agenda_names(client, week=week) == ["Ann Monday", "Ann Tuesday"]
    assert agenda_names(client, week=week, rep=world.rep2.pk) == ["Ann Monday", "Ann Tuesday"]

    client.force_login(world.admin)
    assert agenda_names(client, week=week) == ["Bob Monday", "Ann Monday", "Ann Tuesday"]
    assert agenda_names(client, week=week, rep=world.rep2.pk) == ["Bob Monday"]
    assert agenda_names(client, week=week, facility=world.st_marys.pk) == [
        "Ann Monday",
        "Ann Tuesday",
    ]
    assert agenda_names(client, week=week, rep=other.rep.pk) == [
        "Bob Monday",
        "Ann Monday",
        "Ann Tuesday",
    ]  # another org's rep is no filter

    client.force_login(world.manager)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("events:agenda"), {"week": week})
    assert [e.name for d in response.context["days"] for e in d.cases] == [
        "Bob Monday",
        "Ann Monday",
        "Ann Tuesday",
    ]
    page = response.content.decode()
    assert "Schedule a case" not in page  # read-only
    assert "07:00" in page and "Mercy General" in page


def test_the_agenda_query_count_does_not_grow_with_cases(
    client, world, django_assert_max_num_queries
):
    for n in range(15):
        schedule(world, name=f"Case {n}", scheduled_at=at(in_days(1), 7 + n % 10))
    client.force_login(world.admin)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("events:agenda"), {"week": in_days(1).isoformat()})
    assert len([e for d in response.context["days"] for e in d.cases]) == 15
