"""Issue 23, points 8 and 9: a draft's header is editable while its devices still fit it; Create
Event lands on the Mark Used tab and its form token makes a second post find the first draft; a
Swap's Return and Stocking Order link to each other; a Return speaks of returned inventory."""

import threading
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from events.models import Event
from events.services import AlreadyCreated, event_create, event_update, swap_expiring_create
from inventory.models import Device
from tests.factories import FacilityContactFactory, ProductLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def _create_post(world, **extra):
    return {
        "event_type": "stocking_order",
        "name": "SO Mercy 7",
        "date": "2026-11-20",
        "facility": world.mercy.pk,
        "representative": world.rep.pk,
        "manufacturer": world.maker.pk,
        "product_line": world.line.pk,
        **extra,
    }


# --- 9. Create: the Mark Used tab; the form token ----------------------------------------------


def test_create_lands_on_the_mark_used_tab_and_a_second_post_finds_the_first_draft(client, world):
    client.force_login(world.rep)
    page = client.get(reverse("events:create")).content.decode()
    assert 'name="create_key"' in page
    key = str(uuid.uuid4())
    first = client.post(reverse("events:create"), _create_post(world, create_key=key))
    event = Event.objects.get(name="SO Mercy 7")
    assert first["Location"] == reverse("events:detail", args=[event.pk]) + "?tab=used"
    # Back, then Create again: the same form (same token) makes no second draft.
    again = client.post(reverse("events:create"), _create_post(world, create_key=key), follow=True)
    assert Event.objects.filter(name="SO Mercy 7").count() == 1
    html = again.content.decode()
    assert escape("SO Mercy 7 was already created from this form: here it is.") in html
    assert again.redirect_chain[-1][0].endswith(f"/events/{event.pk}/?tab=used")
    # A new form (a new token) is a new event.
    client.post(reverse("events:create"), _create_post(world, create_key=str(uuid.uuid4())))
    assert Event.objects.filter(name="SO Mercy 7").count() == 2


def test_the_form_token_is_per_organisation(world):
    from tests.events.conftest import build_world

    other = build_world()
    key = uuid.uuid4()
    args = {"event_type": "stocking_order", "name": "SO", "date": "2026-11-20"}
    mine = event_create(
        actor=world.admin,
        facility=world.mercy,
        representative=world.rep,
        manufacturer=world.maker,
        product_line=world.line,
        create_key=key,
        **args,
    )
    theirs = event_create(
        actor=other.admin,
        facility=other.mercy,
        representative=other.rep,
        manufacturer=other.maker,
        product_line=other.line,
        create_key=key,
        **args,
    )
    assert mine.pk != theirs.pk
    with pytest.raises(AlreadyCreated) as refused:
        event_create(
            actor=world.admin,
            facility=world.mercy,
            representative=world.rep,
            manufacturer=world.maker,
            product_line=world.line,
            create_key=key,
            **args,
        )
    assert refused.value.event == mine


@pytest.mark.django_db(transaction=True)
def test_two_racing_posts_of_one_form_make_one_draft():
    from tests.events.conftest import build_world

    world = build_world()
    key, racers = uuid.uuid4(), 6
    barrier, results = threading.Barrier(racers), []

    def post():
        try:
            barrier.wait()
            event = event_create(
                actor=world.admin,
                event_type="case",
                name="Race",
                date="2026-11-20",
                facility=world.mercy,
                representative=world.rep,
                manufacturer=world.maker,
                product_line=world.line,
                patient_id="PT-9",
                create_key=key,
            )
            results.append(("made", event.pk))
        except AlreadyCreated as exc:
            results.append(("found", exc.event.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Event.objects.filter(name="Race").count() == 1
    made = [pk for kind, pk in results if kind == "made"]
    assert len(made) == 1 and len(results) == racers
    assert {pk for _, pk in results} == set(made)


# --- 9. the header of a draft ------------------------------------------------------------------


def test_an_admin_changes_the_rep_facility_and_line_of_an_empty_draft(world):
    event = world.event("stocking_order")
    contact = FacilityContactFactory(facility=world.mercy, organization=world.org)
    other_line = ProductLineFactory(manufacturer=world.maker, organization=world.org)
    event_update(
        actor=world.admin,
        event=event,
        representative=world.rep2,
        facility=world.mercy,
        facility_contact=contact,
        product_line=other_line,
    )
    event.refresh_from_db()
    assert (event.representative, event.facility, event.facility_contact, event.product_line) == (
        world.rep2,
        world.mercy,
        contact,
        other_line,
    )


def test_a_header_change_the_marked_devices_no_longer_fit_is_refused(world):
    order = world.event("stocking_order")
    device = world.devices(1)[0]
    world.add(order, [device])
    with pytest.raises(ValidationError) as refused:
        event_update(actor=world.admin, event=order, representative=world.rep2)
    text = " ".join(refused.value.messages)
    assert "can't change while these devices are marked" in text
    assert f"{device.label} is not in Bob Cover's custody" in text
    order.refresh_from_db()
    assert order.representative == world.rep
    # The facility may change: the rep's own stock fits a stocking order anywhere.
    event_update(actor=world.admin, event=order, facility=world.mercy)
    order.refresh_from_db()
    assert order.facility == world.mercy


def test_a_facility_stock_case_with_lines_keeps_its_facility(world):
    stock = world.facility_stock(1)  # at St. Mary's
    case = world.event("case", facility_stock_only=True)
    world.add(case, stock)
    with pytest.raises(ValidationError) as refused:
        event_update(actor=world.rep, event=case, facility=world.mercy)
    assert (
        f"{stock[0].label} is facility stock of St. Mary's and can't be used at Mercy General."
    ) in refused.value.messages
    case.refresh_from_db()
    assert case.facility == world.st_marys


def test_header_rules_rep_line_and_contact(world):
    event = world.event("case")
    with pytest.raises(ValidationError) as refused:
        event_update(actor=world.rep, event=event, representative=world.rep2)
    assert "A rep can only create events for themself." in refused.value.messages
    other_maker_line = ProductLineFactory(organization=world.org)
    with pytest.raises(ValidationError) as refused:
        event_update(actor=world.admin, event=event, product_line=other_maker_line)
    assert f"{other_maker_line} is not a product line of Acme Spine." in refused.value.messages
    at_st_marys = FacilityContactFactory(facility=world.st_marys, organization=world.org)
    event_update(actor=world.admin, event=event, facility_contact=at_st_marys)
    with pytest.raises(ValidationError) as refused:
        event_update(actor=world.admin, event=event, facility=world.mercy)
    assert f"{at_st_marys} is not a contact at Mercy General." in refused.value.messages
    manager_made = UserFactory(organization=world.org, role=User.Role.MANAGER)
    with pytest.raises(ValidationError):
        event_update(actor=world.admin, event=event, representative=manager_made)
    with pytest.raises(PermissionDenied):
        event_update(actor=world.rep2, event=event, facility=world.mercy)


def test_the_details_tab_edits_the_header(client, world):
    event = world.event("stocking_order")
    client.force_login(world.admin)
    url = reverse("events:detail", args=[event.pk])
    html = client.get(url, {"tab": "details"}).content.decode()
    assert 'name="representative"' in html and 'name="facility"' in html
    response = client.post(
        reverse("events:update", args=[event.pk]),
        {
            "name": event.name,
            "date": "2026-11-21",
            "facility": world.mercy.pk,
            "representative": world.rep2.pk,
            "manufacturer": world.maker.pk,
            "product_line": world.line.pk,
            "facility_contact": "",
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.facility, event.representative) == (world.mercy, world.rep2)
    # Refused: shown on the form, nothing saved.
    world.add(event, world.devices(1, custodian=world.rep2))
    response = client.post(
        reverse("events:update", args=[event.pk]),
        {
            "name": event.name,
            "date": "2026-11-21",
            "facility": world.mercy.pk,
            "representative": world.rep.pk,
            "manufacturer": world.maker.pk,
            "product_line": world.line.pk,
            "facility_contact": "",
        },
    )
    assert response.status_code == 200
    assert "can&#x27;t change while these devices are marked" in response.content.decode()
    event.refresh_from_db()
    assert event.representative == world.rep2


# --- 8. Swap pairs; a Return's words; a manager's reason ---------------------------------------


def test_a_swap_return_and_its_stocking_order_link_to_each_other(client, world):
    old = world.devices(1, expires_in_days=20)
    world.stocking_order(old)
    world.devices(1, expires_in_days=700)
    swap = swap_expiring_create(actor=world.rep, devices=[Device.objects.get(pk=old[0].pk)])
    ret, order = swap.return_event, swap.stocking_order
    ret.refresh_from_db()
    assert ret.swap_order == order
    client.force_login(world.rep)
    ret_page = client.get(reverse("events:detail", args=[ret.pk]), {"tab": "used"})
    html = ret_page.content.decode()
    assert f'href="/events/{order.pk}/?tab=used">{escape(order.name)}</a>' in html
    assert "Mark Returned Inventory" in html and "Submit Return</button>" in html
    assert "Mark Used Inventory" not in html and "Submit For Billing" not in html
    order_page = client.get(reverse("events:detail", args=[order.pk]), {"tab": "used"})
    html = order_page.content.decode()
    assert f'href="/events/{ret.pk}/?tab=used">{escape(ret.name)}</a>' in html
    assert "Mark Used Inventory" in html and "Submit For Billing</button>" in html
    # Submitted, the return still points to its stocking order and asks for it to be submitted.
    world.submit(ret, actor=world.rep)
    html = client.get(reverse("events:detail", args=[ret.pk])).content.decode()
    assert "submit it so the facility is restocked" in html
    # The swap page finds the pair without the query string.
    html = client.get(reverse("reporting:swap_detail", args=[ret.pk])).content.decode()
    assert escape(order.name) in html


def test_a_manager_sees_why_there_is_no_swap(client, world):
    old = world.devices(1, expires_in_days=20)
    world.stocking_order(old)
    client.force_login(world.manager)
    html = client.get(reverse("reporting:index")).content.decode()
    assert 'data-testid="swap-form"' not in html
    assert "No Swap here" in html and "The facility's rep or an admin can swap" in html
    client.force_login(world.rep)
    html = client.get(reverse("reporting:index")).content.decode()
    assert 'data-testid="swap-form"' in html and "No Swap here" not in html
