"""One test per rule of DESIGN.md: the rejected case, the message a rep sees, nothing changed."""

import datetime
import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from events.models import Event
from events.services import (
    event_add_devices,
    event_create,
    event_remove_device,
    event_set_facility_stock_only,
    event_update,
)
from inventory.models import Device, DeviceStatus
from inventory.services import AdjustmentLine, devices_transfer, stock_adjustment_create
from tests.events.conftest import build_world, db_state

pytestmark = pytest.mark.django_db


def rejected(action, *fragments, error=ValidationError):
    """Run ``action``; it must raise ``error`` saying every fragment, and change nothing."""
    before = db_state()
    with pytest.raises(error) as caught:
        action()
    said = " ".join(getattr(caught.value, "messages", [str(caught.value)]))
    for fragment in fragments:
        assert fragment in said, f"{fragment!r} not in {said!r}"
    assert db_state() == before
    return said


# --- rule 3: facility stock belongs to its facility ---------------------------------------------


def test_facility_stock_of_another_facility_is_refused_on_add_and_submit(world):
    [device] = world.facility_stock(1, facility=world.st_marys)
    case = world.event("case", facility=world.mercy, facility_stock_only=True)
    rejected(
        lambda: world.add(case, [device]),
        f"SN {device.serial} is facility stock of St. Mary's and can't be used at Mercy General.",
    )


def test_facility_stock_moved_after_marking_is_refused_at_submit(world):
    [device] = world.facility_stock(1, facility=world.st_marys)
    case = world.event("case", facility=world.st_marys, facility_stock_only=True)
    world.add(case, [device])
    stock_adjustment_create(
        actor=world.admin, reason="facility_correction",
        lines=[AdjustmentLine(device=device, effect="move_to_facility", to_facility=world.mercy)],
    )
    rejected(
        lambda: world.submit(case),
        f"SN {device.serial} is facility stock of Mercy General and can't be used at St. Mary's.",
    )
    assert Event.objects.get(pk=case.pk).status == "draft"


# --- rule 3: never both kinds in one case --------------------------------------------------------


def test_rep_inventory_added_to_a_facility_stock_case_is_refused(world):
    [device] = world.devices(1)
    case = world.event("case", facility_stock_only=True)
    rejected(
        lambda: world.add(case, [device]),
        f"SN {device.serial} is rep inventory, not facility stock: facility stock cannot be "
        "entered in a case with other rep consigned inventory.",
    )


def test_facility_stock_added_to_a_normal_case_is_refused(world):
    [device] = world.facility_stock(1)
    case = world.event("case")
    rejected(
        lambda: world.add(case, [device]),
        f"SN {device.serial} is facility stock of St. Mary's, already sold, and can't be sold "
        "again.",
        "Tick “Show Facility Stock items only” to record its use.",
    )


def test_switching_a_case_with_lines_to_facility_stock_is_refused(world):
    [device] = world.devices(1)
    case = world.event("case")
    world.add(case, [device])
    rejected(
        lambda: event_set_facility_stock_only(
            actor=world.rep, event=case, facility_stock_only=True
        ),
        "Facility stock cannot be entered in a case with other rep consigned inventory",
    )


# --- rule 2: sold once --------------------------------------------------------------------------


def test_a_second_stocking_order_cannot_sell_facility_stock_again(world):
    [device] = world.facility_stock(1)
    second = world.event("stocking_order", facility=world.st_marys)
    rejected(
        lambda: world.add(second, [device]),
        f"SN {device.serial} is facility stock of St. Mary's, already sold, and can't be sold "
        "again.",
    )


def test_two_drafts_with_one_device_only_the_first_submission_sells_it(world):
    [device] = world.devices(1)
    first, second = world.event("stocking_order"), world.event("stocking_order")
    world.add(first, [device])
    world.add(second, [device])
    world.submit(first)
    rejected(lambda: world.submit(second), f"SN {device.serial} is facility stock of St. Mary's")
    assert Event.objects.get(pk=second.pk).status == "draft"


def test_a_device_twice_on_one_event_is_refused(world):
    [device] = world.devices(1)
    case = world.event("case")
    world.add(case, [device])
    rejected(lambda: world.add(case, [device]), f"SN {device.serial} is already on this event.")


def test_a_device_listed_twice_in_one_request_is_refused_with_a_message(world):
    """Found by this suite: it used to hit the unique constraint (an IntegrityError, a 500)."""
    [device] = world.devices(1)
    case = world.event("case")
    rejected(lambda: world.add(case, [device, device]),
             f"SN {device.serial} is already on this event.")


# --- rule 4: deactivated and expired devices ------------------------------------------------------


def test_a_consumed_device_cannot_go_on_any_event(world):
    [device] = world.devices(1)
    case = world.event("case")
    world.add(case, [device])
    world.submit(case)
    for event in (world.event("case"), world.event("stocking_order"),
                  world.event("case", facility_stock_only=True)):
        rejected(
            lambda event=event: world.add(event, [device]),
            f"SN {device.serial} was already used in a case and can't be put on another event.",
        )


def test_a_removed_device_cannot_go_on_any_event(world):
    [device] = world.devices(1)
    stock_adjustment_create(actor=world.admin, reason="lost",
                            lines=[AdjustmentLine(device=device, effect="remove")])
    for event in (world.event("case"), world.event("stocking_order")):
        rejected(
            lambda event=event: world.add(event, [device]),
            f"SN {device.serial} was removed from inventory and can't be put on an event.",
        )


def test_a_device_removed_after_marking_is_refused_at_submit(world):
    [device] = world.devices(1)
    order = world.event("stocking_order")
    world.add(order, [device])
    stock_adjustment_create(actor=world.admin, reason="damaged",
                            lines=[AdjustmentLine(device=device, effect="remove")])
    rejected(lambda: world.submit(order), "was removed from inventory")


def test_an_expired_device_cannot_be_sold_or_used(world):
    [device] = world.devices(1, expires_in_days=10)
    expiry = device.expiration_date
    later = expiry + datetime.timedelta(days=1)
    case = world.event("case")
    message = f"SN {device.serial} expired on {expiry:%Y-%m-%d} and can't be sold or used."
    rejected(lambda: world.add(case, [device], today=later), message)
    # Marked while still good, submitted after expiry: refused at submit too.
    world.add(case, [device], today=expiry)
    rejected(lambda: world.submit(case, today=later), message)
    world.submit(case, today=expiry)  # on its last day it is still usable
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.CONSUMED


def test_expired_facility_stock_cannot_be_used(world):
    [device] = world.facility_stock(1)
    later = device.expiration_date + datetime.timedelta(days=1)
    case = world.event("case", facility_stock_only=True)
    rejected(lambda: world.add(case, [device], today=later), "can't be sold or used")


# --- rule 5: patient ID -------------------------------------------------------------------------


def test_a_case_without_patient_id_cannot_be_submitted(world):
    [device] = world.devices(1)
    case = world.event("case", patient_id="")
    world.add(case, [device])
    rejected(lambda: world.submit(case),
             "Enter the Patient ID before submitting the case (traceability).")
    event_update(actor=world.rep, event=case, patient_id="   ")
    rejected(lambda: world.submit(case), "Enter the Patient ID")
    event_update(actor=world.rep, event=case, patient_id="PT-77")
    assert world.submit(case).status == "pending_po"


def test_the_database_refuses_a_submitted_case_without_patient_id(world):
    from django.db import IntegrityError, transaction

    [device] = world.devices(1)
    case = world.event("case")
    world.add(case, [device])
    world.submit(case)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=case.pk).update(patient_id="")


# --- rule 1: custody and transit ------------------------------------------------------------------


def test_a_device_outside_the_representatives_custody_is_refused(world):
    [device] = world.devices(1, custodian=world.rep2)
    for event in (world.event("case"), world.event("stocking_order")):
        rejected(
            lambda event=event: world.add(event, [device]),
            f"SN {device.serial} is not in Ann Rep's custody (held by Bob Cover): transfer it "
            "first.",
        )


def test_a_device_transferred_away_after_marking_is_refused_at_submit(world):
    [device] = world.devices(1)
    case = world.event("case")
    world.add(case, [device])
    devices_transfer(actor=world.admin, devices=[device], to_custodian=world.rep2)
    rejected(lambda: world.submit(case), "is not in Ann Rep's custody (held by Bob Cover)")


def test_a_device_in_transit_is_refused_until_accepted(world):
    from inventory.services import transfer_accept

    [device] = world.devices(1, custodian=world.rep2)
    transfer = devices_transfer(actor=world.rep2, devices=[device], to_custodian=world.rep)
    assert transfer.status == "pending"
    case = world.event("case")
    # Still the sender's until accepted: it is refused for the recipient…
    rejected(lambda: world.add(case, [device]), "is not in Ann Rep's custody")
    # …and for the sender, because it is in transit.
    senders = world.event("case", rep=world.rep2)
    rejected(
        lambda: world.add(senders, [device]),
        f"SN {device.serial} is in transit and can't be used until the transfer is accepted.",
    )
    transfer_accept(actor=world.rep, transfer=transfer)
    world.add(case, [device])


# --- rule 6: a submitted event is immutable -------------------------------------------------------


def test_a_submitted_event_cannot_be_edited(world):
    [device, other] = world.devices(2)
    case = world.event("case")
    world.add(case, [device])
    world.submit(case)
    submitted = "case event was submitted for billing and can't be changed."
    rejected(lambda: world.add(case, [other]), submitted)
    rejected(lambda: event_remove_device(actor=world.admin, event=case, device=device), submitted)
    rejected(lambda: event_update(actor=world.rep, event=case, patient_id="PT-2"), submitted)
    rejected(lambda: event_update(actor=world.admin, event=case, name="Renamed"), submitted)
    rejected(
        lambda: event_set_facility_stock_only(actor=world.rep, event=case,
                                              facility_stock_only=True),
        submitted,
    )
    rejected(lambda: world.submit(case),
             "case event was already submitted for billing (SO-000001).")


# --- rule 10: tenant isolation --------------------------------------------------------------------


def test_another_organisations_device_is_refused(world):
    other = build_world()
    [theirs] = other.devices(1)
    case = world.event("case")
    rejected(lambda: world.add(case, [theirs]),
             f"SN {theirs.serial} is not part of your organisation's inventory.")
    rejected(
        lambda: stock_adjustment_create(actor=world.admin, reason="lost",
                                        lines=[AdjustmentLine(device=theirs, effect="remove")]),
        "is not part of your organisation's inventory.",
    )
    rejected(
        lambda: devices_transfer(actor=world.admin, devices=[theirs], to_custodian=world.rep2),
        "is not part of your organisation's inventory.",
    )


def test_another_organisations_facility_rep_or_event_is_refused(world):
    other = build_world()
    base = {
        "actor": world.admin, "event_type": "case", "name": "Case",
        "date": datetime.date.today(), "facility": world.st_marys, "representative": world.rep,
        "manufacturer": world.maker, "product_line": world.line, "patient_id": "PT-1",
    }
    rejected(lambda: event_create(**{**base, "facility": other.st_marys}),
             "St. Mary's is not part of your organisation.")
    rejected(lambda: event_create(**{**base, "representative": other.rep}),
             "Ann Rep is not part of your organisation.")
    rejected(lambda: event_create(**{**base, "manufacturer": other.maker,
                                     "product_line": other.line}),
             "is not part of your organisation.")
    their_case = other.event("case")
    rejected(lambda: event_update(actor=world.admin, event=their_case, name="Mine"),
             "is not part of your organisation.")
    rejected(lambda: world.submit(their_case), "is not part of your organisation.")


# --- roles ---------------------------------------------------------------------------------------


def test_a_manager_cannot_create_or_change_events(world):
    rejected(lambda: world.event("case", actor=world.manager),
             "Your role (Manager) may not create events.", error=PermissionDenied)
    case = world.event("case")
    [device] = world.devices(1)
    rejected(lambda: world.add(case, [device], actor=world.manager),
             "Only the event's representative or an admin can change it.",
             error=PermissionDenied)
    rejected(lambda: world.submit(case, actor=world.manager), error=PermissionDenied)
    rejected(
        lambda: stock_adjustment_create(actor=world.manager, reason="lost",
                                        lines=[AdjustmentLine(device=device, effect="remove")]),
        "may not adjust stock", error=PermissionDenied,
    )


def test_a_rep_creates_events_only_for_themself_and_edits_only_their_own(world):
    rejected(lambda: world.event("case", actor=world.rep, rep=world.rep2),
             "A rep can only create events for themself.")
    own = world.event("case", actor=world.rep, rep=world.rep)
    assert own.representative == world.rep
    theirs = world.event("case", rep=world.rep2)
    [device] = world.devices(1, custodian=world.rep2)
    rejected(lambda: world.add(theirs, [device], actor=world.rep),
             "Only the event's representative or an admin can change it.",
             error=PermissionDenied)
    rejected(lambda: world.submit(theirs, actor=world.rep), error=PermissionDenied)


def test_a_manager_is_not_a_representative(world):
    rejected(lambda: world.event("case", rep=world.manager),
             f"{world.manager} is not an active rep.")


# --- removing a line from a draft ---------------------------------------------------------------


def test_a_draft_line_can_be_removed_and_the_device_reused(world):
    [device] = world.devices(1)
    case = world.event("case")
    world.add(case, [device])
    event_remove_device(actor=world.rep, event=case, device=device)
    assert not case.lines.exists()
    rejected(lambda: event_remove_device(actor=world.rep, event=case, device=device),
             f"SN {device.serial} is not on this event.")
    order = world.event("stocking_order")
    world.add(order, [device])
    world.submit(order)


def test_an_event_without_devices_or_signature_cannot_be_submitted(world):
    from billing.submit import event_submit_for_billing

    case = world.event("case")
    rejected(lambda: world.submit(case), "Mark at least one device as used before submitting.")
    [device] = world.devices(1)
    world.add(case, [device])
    rejected(lambda: event_submit_for_billing(actor=world.rep, event=case, signature_name=" "),
             "Type your name to sign the submission.")


def test_event_add_devices_refuses_an_empty_choice(world):
    case = world.event("case")
    rejected(lambda: event_add_devices(actor=world.rep, event=case, devices=[]),
             "Choose at least one device.")


# --- rules 1, 3, 4, 11 as one query: the candidates selector agrees with device_problem ----------


def test_the_candidates_query_and_device_problem_agree_on_every_device_and_event(world):
    """``event_device_candidates`` (built on ``inventory.selectors.sellable_devices`` and
    ``facility_stock_devices``) lists a device exactly when ``device_problem`` finds nothing
    wrong with it, for every kind of event, device state and day (expiry boundary included)."""
    from events.selectors import event_device_candidates
    from events.services import device_problem
    from tests.factories import ManufacturerFactory, ProductFactory, ProductLineFactory

    other_maker = ManufacturerFactory(organization=world.org, name="Other maker")
    other_line = ProductLineFactory(organization=world.org, manufacturer=other_maker)
    other_product = ProductFactory(organization=world.org, product_line=other_line)
    zoo = {
        "rep's": world.devices(1)[0],
        "rep's, expiring": world.devices(1, expires_in_days=10)[0],
        "rep2's": world.devices(1, custodian=world.rep2)[0],
        "other maker's": world.devices(1, product=other_product)[0],
        "in transit": world.devices(1)[0],
        "st marys stock": world.facility_stock(1)[0],
        "mercy stock": world.facility_stock(1, facility=world.mercy)[0],
        "consumed": world.devices(1)[0],
        "removed": world.devices(1)[0],
    }
    [expiring_stock] = world.devices(1, expires_in_days=10)
    world.stocking_order([expiring_stock])
    zoo["st marys stock, expiring"] = expiring_stock
    devices_transfer(actor=world.rep, devices=[zoo["in transit"]], to_custodian=world.rep2)
    case = world.event("case")
    world.add(case, [zoo["consumed"]])
    world.submit(case)
    stock_adjustment_create(actor=world.admin, reason="lost",
                            lines=[AdjustmentLine(device=zoo["removed"], effect="remove")])
    devices = list(Device.objects.filter(pk__in=[d.pk for d in zoo.values()]).select_related(
        "product__product_line", "facility", "custodian"))
    names = {d.pk: name for name, d in zoo.items()}
    expiry = zoo["rep's, expiring"].expiration_date
    events = [world.event("stocking_order"), world.event("case"),
              world.event("case", facility_stock_only=True), world.event("return")]
    seen_offered = set()
    for event, today in itertools.product(events, (expiry, expiry + datetime.timedelta(days=1))):
        offered = set(event_device_candidates(event=event, today=today)
                      .filter(pk__in=names).values_list("pk", flat=True))
        allowed = {d.pk for d in devices if device_problem(event, d, today) is None}
        assert {names[pk] for pk in offered} == {names[pk] for pk in allowed}, (
            event.event_type, event.facility_stock_only, today)
        seen_offered |= {names[pk] for pk in offered}
    # The comparison is not vacuous: each kind of event offers something.
    assert seen_offered == {"rep's", "rep's, expiring", "st marys stock",
                            "st marys stock, expiring"}
