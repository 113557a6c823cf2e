"""Issue 15, Swap expiring stock: a draft Return of the chosen units and a draft Stocking Order of
the same products from the rep's custody, longest dating first; shortfalls listed."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from events.models import Event
from events.services import swap_expiring_create
from inventory.models import Device
from tests.events.test_rules_events import rejected
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def expiring(world, n, *, facility=None, product=None):
    devices = world.devices(n, expires_in_days=20, product=product or world.product)
    world.stocking_order(devices, facility=facility)
    return [Device.objects.get(pk=d.pk) for d in devices]


def test_swap_drafts_a_return_and_a_stocking_order_of_the_longest_dated_units(world):
    other = ProductFactory(product_line=world.line, organization=world.org)
    old = expiring(world, 2) + expiring(world, 1, product=other)
    short_dated = world.devices(1, expires_in_days=200)
    long_dated = world.devices(2, expires_in_days=700)
    swap = swap_expiring_create(actor=world.rep, devices=old)

    ret, order = swap.return_event, swap.stocking_order
    assert (ret.event_type, ret.status, ret.facility, ret.representative) == (
        "return", "draft", world.st_marys, world.rep)
    assert set(ret.lines.values_list("device_id", flat=True)) == {d.pk for d in old}
    assert (order.event_type, order.status, order.facility) == (
        "stocking_order", "draft", world.st_marys)
    # Same products, longest dating first: the 700-day units, never the 200-day one.
    assert set(order.lines.values_list("device_id", flat=True)) == {d.pk for d in long_dated}
    assert short_dated[0].pk not in set(order.lines.values_list("device_id", flat=True))
    assert swap.shortfalls == {other: 1}
    # Nothing moved yet: both are drafts for the rep to review and submit.
    assert {Device.objects.get(pk=d.pk).status for d in old} == {"facility_stock"}

    world.submit(ret, actor=world.rep)
    world.submit(order, actor=world.rep)
    assert {Device.objects.get(pk=d.pk).status for d in old} == {"available"}
    assert {Device.objects.get(pk=d.pk).facility_id for d in long_dated} == {world.st_marys.pk}


def test_an_admins_swap_goes_to_the_seller_and_without_stock_drafts_no_order(world):
    old = expiring(world, 1)
    swap = swap_expiring_create(actor=world.admin, devices=old)
    assert swap.return_event.representative == world.rep  # the seller
    assert swap.stocking_order is None
    assert swap.shortfalls == {world.product: 1}


def test_swap_refuses_units_of_two_facilities_or_not_facility_stock(world):
    here = expiring(world, 1)
    there = expiring(world, 1, facility=world.mercy)
    rejected(lambda: swap_expiring_create(actor=world.rep, devices=here + there),
             "A swap is for one facility: tick units of one facility only.")
    [available] = world.devices(1)
    rejected(lambda: swap_expiring_create(actor=world.rep, devices=[available]),
             f"SN {available.serial} is not facility stock and can't be swapped.")
    rejected(lambda: swap_expiring_create(actor=world.rep, devices=[]),
             "Tick the expiring units to swap.")
    assert not Event.objects.filter(event_type="return").exists()


def test_swap_from_the_dashboard_shows_both_drafts_and_the_shortfalls(client, world):
    old = expiring(world, 2)
    fresh = world.devices(1, expires_in_days=500)
    world.st_marys.reps.add(world.rep)  # a rep's dashboard shows the facilities they cover
    client.force_login(world.rep)
    page = client.get(reverse("reporting:index")).content.decode()
    assert f'name="device" value="{old[0].pk}"' in page and ">Swap</button>" in page
    response = client.post(reverse("reporting:swap_create"),
                           {"device": [d.pk for d in old]}, follow=True)
    html = response.content.decode()
    ret = Event.objects.get(event_type="return")
    order = Event.objects.get(event_type="stocking_order", status="draft")
    assert response.redirect_chain[-1][0] == (
        reverse("reporting:swap_detail", args=[ret.pk]) + f"?order={order.pk}")
    assert "Swap prepared" in html
    assert escape(ret.name) in html and escape(order.name) in html
    assert fresh[0].serial in html
    assert 'data-testid="swap-shortfalls"' in html and "1 short (2 returned, 1 replaced)" in html

    client.force_login(world.manager)  # read-only: no swap
    assert ">Swap</button>" not in client.get(reverse("reporting:index")).content.decode()
    assert client.post(reverse("reporting:swap_create"), {"device": [old[0].pk]}).status_code == 403


def test_a_refused_swap_says_why_on_the_dashboard(client, world):
    here = expiring(world, 1)
    there = expiring(world, 1, facility=world.mercy)
    client.force_login(world.admin)
    response = client.post(reverse("reporting:swap_create"),
                           {"device": [here[0].pk, there[0].pk]}, follow=True)
    assert "A swap is for one facility" in response.content.decode()
    assert not Event.objects.filter(event_type="return").exists()
