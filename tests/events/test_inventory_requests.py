"""Inventory requests on scheduled cases (issue 25, part 3): a rep asks for products or a kit's
content; the admins' queue; the admin sends units (longest dating first suggested) as a transfer
the rep accepts, refuses the rest with a reason the rep sees; upcoming cases whose rep lacks the
requested stock are flagged on the agenda, the home page and the dashboard."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from events.models import InventoryRequest, InventoryRequestStatus
from events.request_selectors import suggested_units, upcoming_short_cases
from events.request_services import inventory_request_answer, inventory_request_create
from events.schedule_services import case_schedule
from inventory.kit_services import kit_template_create
from inventory.models import Device, Transfer
from inventory.services import transfer_accept
from tests.events.conftest import build_world, in_days
from tests.factories import ProductFactory, receive


def scheduled(world, day=None, *, rep=None, name="Case Lopez"):
    return case_schedule(
        actor=world.admin,
        name=name,
        scheduled_at=timezone.make_aware(
            datetime.datetime.combine(day or in_days(1), datetime.time(8))
        ),
        facility=world.st_marys,
        representative=rep or world.rep,
        manufacturer=world.maker,
        product_line=world.line,
    )


@pytest.fixture
def warehouse(world):
    """Four units in the admin's custody, expiring in 100, 400, 200 and 300 days."""
    return [
        receive(
            custodian=world.admin,
            product=world.product,
            actor=world.admin,
            expires_in_days=days,
            lot=f"L{days}",
        )[0]
        for days in (100, 400, 200, 300)
    ]


def test_a_rep_requests_products_and_a_kits_content(world):
    case = scheduled(world)
    screw = ProductFactory(product_line=world.line, organization=world.org, reference="SCR-2")
    kit = kit_template_create(
        actor=world.admin,
        name="Pedicle set",
        product_line=world.line,
        items=[(world.product, 2), (screw, 1)],
    )
    made = inventory_request_create(
        actor=world.rep, event=case, quantities=[(world.product, 1)], kit_template=kit
    )
    assert made.status == InventoryRequestStatus.OPEN
    assert sorted((line.product_id, line.quantity) for line in made.lines.all()) == sorted(
        [(world.product.pk, 3), (screw.pk, 1)]
    )


def test_requests_are_refused_where_they_make_no_sense(world):
    case = scheduled(world)
    with pytest.raises(PermissionDenied):
        inventory_request_create(actor=world.manager, event=case, quantities=[(world.product, 1)])
    with pytest.raises(PermissionDenied):  # another rep's case
        inventory_request_create(actor=world.rep2, event=case, quantities=[(world.product, 1)])
    with pytest.raises(ValidationError, match="Choose at least one product"):
        inventory_request_create(actor=world.rep, event=case, quantities=[])
    with pytest.raises(ValidationError, match="request inventory for an upcoming case"):
        inventory_request_create(
            actor=world.rep, event=case, quantities=[(world.product, 1)], today=in_days(2)
        )
    other = build_world()
    with pytest.raises(ValidationError, match="is not part of your organisation"):
        inventory_request_create(actor=world.rep, event=case, quantities=[(other.product, 1)])
    order = world.event("stocking_order")
    with pytest.raises(ValidationError, match="Inventory is requested for a case"):
        inventory_request_create(actor=world.admin, event=order, quantities=[(world.product, 1)])
    assert not InventoryRequest.objects.exists()


def test_longest_dating_first_is_suggested_and_the_reps_own_units_are_not(world, warehouse):
    world.devices(2)  # the rep's own: not offered
    case = scheduled(world)
    made = inventory_request_create(actor=world.rep, event=case, quantities=[(world.product, 2)])
    units = suggested_units(request=made, today=timezone.localdate())[world.product.pk]
    assert [u.lot for u in units] == ["L400", "L300", "L200", "L100"]
    assert [u.suggested for u in units] == [True, True, False, False]


def test_partial_fulfilment_and_refusal_then_the_rep_accepts(world, warehouse):
    case = scheduled(world)
    made = inventory_request_create(actor=world.rep, event=case, quantities=[(world.product, 3)])
    assert [c.pk for c in upcoming_short_cases(user=world.rep, today=timezone.localdate())] == [
        case.pk
    ]
    with pytest.raises(ValidationError, match="give a reason to refuse"):
        inventory_request_answer(actor=world.admin, request=made)
    with pytest.raises(PermissionDenied):
        inventory_request_answer(actor=world.rep, request=made, refusal_reason="no")

    answered = inventory_request_answer(
        actor=world.admin,
        request=made,
        devices=warehouse[1:2] + warehouse[3:4],
        refusal_reason="Back-ordered until Friday",
    )
    assert answered.status == InventoryRequestStatus.CLOSED
    assert answered.refusal_reason == "Back-ordered until Friday"
    assert answered.lines.get().fulfilled == 2
    [transfer] = answered.transfers.all()
    assert transfer.status == Transfer.Status.PENDING and transfer.to_custodian == world.rep
    # In transit: the rep does not hold them yet, the case is still flagged (2 sent, 0 held).
    [flagged] = upcoming_short_cases(user=world.admin, today=timezone.localdate())
    assert [(s.needed, s.held) for s in flagged.shortfalls] == [(2, 0)]

    transfer_accept(actor=world.rep, transfer=transfer)
    assert set(Device.objects.filter(custodian=world.rep).values_list("lot", flat=True)) == {
        "L400",
        "L300",
    }
    assert upcoming_short_cases(user=world.rep, today=timezone.localdate()) == []
    with pytest.raises(ValidationError, match="was already answered"):
        inventory_request_answer(actor=world.admin, request=made, refusal_reason="again")


def test_an_answer_refuses_wrong_units_and_sends_nothing(world, warehouse):
    other_product = ProductFactory(product_line=world.line, organization=world.org)
    [stranger] = receive(custodian=world.admin, product=other_product, actor=world.admin)
    [soon] = receive(
        custodian=world.admin, product=world.product, actor=world.admin, expires_in_days=3
    )
    [own] = world.devices(1)
    case = scheduled(world, in_days(5))
    made = inventory_request_create(actor=world.rep, event=case, quantities=[(world.product, 1)])
    for devices, message in (
        ([stranger], "is not a requested product"),
        ([soon], "before the case"),
        ([own], "already in Ann Rep's custody"),
        (warehouse[:2], "1 still requested; 2 picked"),
    ):
        with pytest.raises(ValidationError, match=message):
            inventory_request_answer(actor=world.admin, request=made, devices=devices)
    assert not Transfer.objects.filter(to_custodian=world.rep).exists()
    made.refresh_from_db()
    assert made.status == InventoryRequestStatus.OPEN


def test_refusing_everything(world):
    case = scheduled(world)
    made = inventory_request_create(actor=world.rep, event=case, quantities=[(world.product, 1)])
    refused = inventory_request_answer(
        actor=world.admin, request=made, refusal_reason="Discontinued"
    )
    assert refused.status == InventoryRequestStatus.REFUSED
    assert upcoming_short_cases(user=world.rep, today=timezone.localdate()) == []


# --- the pages ----------------------------------------------------------------------------------


def test_the_request_flow_through_the_pages(
    client, world, warehouse, django_assert_max_num_queries
):
    case = scheduled(world)
    client.force_login(world.rep)
    detail = client.get(reverse("events:detail", args=[case.pk])).content.decode()
    assert 'data-testid="request-inventory"' in detail
    response = client.post(
        reverse("events:request_create", args=[case.pk]),
        {
            "product_1": world.product.pk,
            "quantity_1": "3",
            "note": "Big patient",
        },
    )
    assert response.status_code == 302
    made = InventoryRequest.objects.get(event=case)
    agenda = client.get(reverse("events:agenda")).content.decode()
    assert 'data-testid="agenda-short"' in agenda and "holds 0 of 3" in agenda
    assert 'data-testid="short-cases"' in client.get(reverse("home")).content.decode()
    dashboard = client.get(reverse("reporting:index")).content.decode()
    assert 'data-testid="short-cases"' in dashboard and "holds 0 of 3" in dashboard
    assert client.get(reverse("events:request_queue")).status_code == 403

    client.force_login(world.admin)
    with django_assert_max_num_queries(10):
        queue = client.get(reverse("events:request_queue"))
    assert [r.pk for r in queue.context["requests"]] == [made.pk]
    page = client.get(reverse("events:request_answer", args=[made.pk])).content.decode()
    assert page.count('data-testid="unit"') == 4 and page.count(" checked") == 3
    response = client.post(
        reverse("events:request_answer", args=[made.pk]),
        {
            "device": [warehouse[1].pk],
            "refusal_reason": "Only one left in the warehouse",
        },
    )
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.status == InventoryRequestStatus.CLOSED

    client.force_login(world.rep)
    detail = client.get(reverse("events:detail", args=[case.pk])).content.decode()
    assert "Only one left in the warehouse" in detail and "1 of 3 sent" in detail
    transfer_accept(actor=world.rep, transfer=made.transfers.get())
    assert 'data-testid="agenda-short"' not in client.get(reverse("events:agenda")).content.decode()
    assert (
        'data-testid="short-cases"' not in client.get(reverse("reporting:index")).content.decode()
    )


def test_another_organisations_request_is_not_found(client, world):
    other = build_world()
    case = scheduled(other)
    theirs = inventory_request_create(actor=other.rep, event=case, quantities=[(other.product, 1)])
    client.force_login(world.admin)
    assert client.get(reverse("events:request_answer", args=[theirs.pk])).status_code == 404
    assert (
        client.post(
            reverse("events:request_answer", args=[theirs.pk]), {"refusal_reason": "x"}
        ).status_code
        == 404
    )
    assert client.get(reverse("events:request_create", args=[case.pk])).status_code == 404
    assert client.get(reverse("events:request_queue")).context["requests"] == []
