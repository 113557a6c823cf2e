"""Editing a kit (tag, template, notes) and a loan's header (name, case date, due back, facility)
through the services and the forms: the rules still hold, every change is in the kit's ledger,
a loan's facility change moves its units through the lifecycle, and the ledger verifies."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from events.loan_services import kit_check_in, loan_update
from inventory.kit_services import kit_replenish, kit_template_create, kit_transfer, kit_update
from inventory.ledger import chain_problems
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    Kit,
    KitMovement,
    MovementKind,
)
from inventory.selectors import ledger_discrepancies
from tests.events.conftest import build_world

pytestmark = pytest.mark.django_db


def ledger_clean():
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []


# --- a kit ---------------------------------------------------------------------------------------


def test_a_kit_tag_template_and_notes_change_and_the_history_says_so(kits):
    w = kits.world
    kit = kits.build(tag="K-1")
    bigger = kit_template_create(
        actor=w.admin, name="Set B", product_line=w.line, items=[(kits.screw, 4), (kits.plate, 2)]
    )
    kit = kit_update(
        actor=w.rep, kit=kit, tag=" k-1b ", template=bigger, notes="Driver in the lid."
    )
    kit.refresh_from_db()
    assert (kit.tag, kit.template, kit.notes) == ("K-1B", bigger, "Driver in the lid.")
    edited = KitMovement.objects.get(kit=kit, kind=KitMovement.Kind.EDITED)
    assert edited.note == "tag K-1 → K-1B; template Pedicle Screw Set 5.5 → Set B; notes"
    # Nothing changed: no movement.
    kit_update(actor=w.rep, kit=kit, tag="K-1B", template=bigger, notes="Driver in the lid.")
    assert KitMovement.objects.filter(kit=kit, kind=KitMovement.Kind.EDITED).count() == 1
    ledger_clean()


def test_kit_edits_that_break_a_rule_are_refused(kits):
    w = kits.world
    kit = kits.build(tag="K-1")
    kits.build(tag="K-2", screws=0, plates=0)
    with pytest.raises(ValidationError, match="K-2 is already in use"):
        kit_update(actor=w.admin, kit=kit, tag="k-2", template=kits.template)
    with pytest.raises(ValidationError, match="letters, digits"):
        kit_update(actor=w.admin, kit=kit, tag="no spaces", template=kits.template)
    smaller = kit_template_create(
        actor=w.admin, name="Screws only", product_line=w.line, items=[(kits.screw, 2)]
    )
    with pytest.raises(ValidationError) as refused:
        kit_update(actor=w.admin, kit=kit, tag="K-1", template=smaller)
    assert refused.value.message_dict["template"] == [
        "2 × PLT-2 in the kit: the Screws only template does not list it.",
        "3 × SCR-55 in the kit: the Screws only template holds 2.",
        "Take those units out first.",
    ]
    with pytest.raises(PermissionDenied):
        kit_update(actor=w.rep2, kit=kit, tag="K-9", template=kits.template)
    with pytest.raises(PermissionDenied):
        kit_update(actor=w.manager, kit=kit, tag="K-9", template=kits.template)
    other = build_world()
    with pytest.raises((PermissionDenied, ValidationError)):
        kit_update(actor=other.admin, kit=kit, tag="K-9", template=kits.template)
    # Away (on loan, in transit): only the notes may change.
    kits.loan(kit)
    with pytest.raises(ValidationError, match="on loan: change its tag or template when it is"):
        kit_update(actor=w.rep, kit=kit, tag="K-7", template=kits.template)
    kit = kit_update(actor=w.rep, kit=kit, tag="K-1", template=kits.template, notes="Late case")
    assert Kit.objects.get(pk=kit.pk).notes == "Late case"
    travelling = kits.build(tag="K-3")
    kit_transfer(actor=w.rep, kit=travelling, to_custodian=w.rep2)
    with pytest.raises(ValidationError, match="in transit"):
        kit_update(actor=w.rep, kit=travelling, tag="K-33", template=kits.template)
    assert Kit.objects.get(pk=kit.pk).tag == "K-1"
    ledger_clean()


def test_a_kit_template_cant_change_while_a_refill_waits(kits):
    w = kits.world
    kit = kits.build(screws=2)
    w.devices(1, product=kits.screw)
    kit_replenish(actor=w.rep, kit=kit, source=w.rep)
    with pytest.raises(ValidationError, match="refill of kit K-1 is waiting"):
        kit_update(
            actor=w.rep,
            kit=kit,
            tag="K-1",
            template=kit_template_create(
                actor=w.admin,
                name="Set C",
                product_line=w.line,
                items=[(kits.screw, 5), (kits.plate, 5)],
            ),
        )


# --- a loan --------------------------------------------------------------------------------------


def test_a_loan_header_is_corrected_and_its_units_follow_the_facility(kits):
    w = kits.world
    kit = kits.build()
    loan = kits.loan(kit, due_in=5)
    today = timezone.localdate()
    loan = loan_update(
        actor=w.rep,
        loan=loan,
        name="Dr Lee, L4-L5",
        date=today,
        due_back=loan.due_back - datetime.timedelta(days=2),
        facility=w.mercy,
    )
    loan.refresh_from_db()
    assert (loan.name, loan.facility, loan.due_back) == (
        "Dr Lee, L4-L5",
        w.mercy,
        today + datetime.timedelta(days=3),
    )
    kit.refresh_from_db()
    assert kit.facility == w.mercy and kit.status == Kit.Status.LOANED
    members = kits.members(kit)
    assert {(d.status, d.facility_id) for d in members} == {(DeviceStatus.LOANED, w.mercy.pk)}
    moved = DeviceMovement.objects.filter(kind=MovementKind.KIT_LOAN_MOVED)
    assert sorted(m.device_id for m in moved) == [d.pk for d in members]
    assert {(m.from_facility_id, m.facility_id, m.kit_id) for m in moved} == {
        (w.st_marys.pk, w.mercy.pk, kit.pk)
    }
    changed = KitMovement.objects.get(kit=kit, kind=KitMovement.Kind.LOAN_CHANGED)
    assert changed.units == 5 and changed.facility == w.mercy
    assert "facility St. Mary" in changed.note and "Mercy" in changed.note
    # A case at the new facility may use the loaned units; check-in still closes the loan.
    case = w.event("case", facility=w.mercy)
    w.add(case, members[:1], actor=w.rep)
    w.submit(case, actor=w.rep)
    kit_check_in(actor=w.rep, kit=kit, present=kits.members(kit))
    loan.refresh_from_db()
    assert loan.status == "closed"
    ledger_clean()


def test_loan_header_changes_that_break_a_rule_are_refused(kits):
    w = kits.world
    kit = kits.build()
    loan = kits.loan(kit, due_in=3)
    today = timezone.localdate()
    later = loan.due_back + datetime.timedelta(days=1)
    with pytest.raises(ValidationError, match="A later due-back date is an extension"):
        loan_update(actor=w.rep, loan=loan, date=loan.date, due_back=later, facility=loan.facility)
    with pytest.raises(ValidationError, match="before the case date"):
        loan_update(
            actor=w.rep,
            loan=loan,
            date=loan.due_back + datetime.timedelta(days=1),
            due_back=loan.due_back,
            facility=loan.facility,
        )
    with pytest.raises(ValidationError, match="in the past"):
        loan_update(
            actor=w.rep,
            loan=loan,
            date=today - datetime.timedelta(days=9),
            due_back=today - datetime.timedelta(days=1),
            facility=loan.facility,
        )
    with pytest.raises(PermissionDenied):
        loan_update(
            actor=w.rep2, loan=loan, date=loan.date, due_back=loan.due_back, facility=loan.facility
        )
    # A unit on a draft case at the loan's facility pins the facility.
    case = w.event("case")
    w.add(case, kits.members(kit)[:1], actor=w.rep)
    with pytest.raises(ValidationError, match="take it off the case first"):
        loan_update(
            actor=w.rep, loan=loan, date=loan.date, due_back=loan.due_back, facility=w.mercy
        )
    # Once used, too; the dates may still be corrected.
    w.submit(case, actor=w.rep)
    with pytest.raises(ValidationError, match="were used on a case at St. Mary"):
        loan_update(
            actor=w.rep, loan=loan, date=loan.date, due_back=loan.due_back, facility=w.mercy
        )
    loan_update(
        actor=w.rep,
        loan=loan,
        date=loan.date,
        due_back=loan.due_back - datetime.timedelta(days=1),
        facility=loan.facility,
    )
    assert Device.objects.filter(kit=kit, facility=w.st_marys).count() == 4
    # Closed: nothing changes any more.
    kit_check_in(actor=w.rep, kit=kit, present=kits.members(kit))
    with pytest.raises(ValidationError, match="is closed"):
        loan_update(
            actor=w.rep, loan=loan, date=loan.date, due_back=loan.due_back, facility=loan.facility
        )
    ledger_clean()


def test_a_loan_facility_is_fixed_once_one_of_its_kits_is_back(kits):
    from events.loan_services import loan_create

    w = kits.world
    first, second = kits.build(tag="A"), kits.build(tag="B")
    today = timezone.localdate()
    loan = loan_create(
        actor=w.rep,
        kits=[first, second],
        facility=w.st_marys,
        representative=w.rep,
        date=today,
        due_back=today + datetime.timedelta(days=3),
    )
    kit_check_in(actor=w.rep, kit=first, present=kits.members(first))
    with pytest.raises(ValidationError, match="checked in already"):
        loan_update(
            actor=w.rep, loan=loan, date=loan.date, due_back=loan.due_back, facility=w.mercy
        )


# --- the forms -----------------------------------------------------------------------------------


def test_the_edit_forms(client, kits, django_assert_max_num_queries):
    w = kits.world
    kit = kits.build()
    client.force_login(w.rep)
    url = reverse("inventory:kit_edit", args=[kit.pk])
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert 'value="K-1"' in page
    response = client.post(url, {"tag": "K-1", "template": kits.template.pk, "notes": "Lid"})
    assert response.url == reverse("inventory:kit_detail", args=[kit.pk])
    assert 'data-testid="kit-notes">Lid' in client.get(response.url).content.decode()
    response = client.post(url, {"tag": "bad tag", "template": kits.template.pk})
    assert "letters, digits" in response.content.decode()

    loan = kits.loan(kit)
    url = reverse("events:loan_edit", args=[loan.pk])
    assert (
        reverse("events:loan_edit", args=[loan.pk])
        in client.get(reverse("events:loan_detail", args=[loan.pk])).content.decode()
    )
    response = client.post(
        url,
        {
            "name": "Dr Lee",
            "facility": w.mercy.pk,
            "date": loan.date,
            "due_back": loan.due_back + datetime.timedelta(days=4),
        },
    )
    assert "use Extend" in response.content.decode()
    response = client.post(
        url,
        {"name": "Dr Lee", "facility": w.mercy.pk, "date": loan.date, "due_back": loan.due_back},
    )
    assert response.url == reverse("events:loan_detail", args=[loan.pk])
    assert "Mercy" in client.get(response.url).content.decode()

    # Another rep, a manager, another organisation: no edit.
    client.force_login(w.rep2)
    assert client.get(reverse("inventory:kit_edit", args=[kit.pk])).status_code in (302, 404)
    client.force_login(w.manager)
    assert client.get(reverse("inventory:kit_edit", args=[kit.pk])).status_code == 403
    client.force_login(build_world().admin)
    assert client.get(reverse("inventory:kit_edit", args=[kit.pk])).status_code == 404
    assert client.get(reverse("events:loan_edit", args=[loan.pk])).status_code == 404
    ledger_clean()
