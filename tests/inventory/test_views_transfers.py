"""Transfers: create (admin / rep), accept, decline with a reason, detail and list pages."""

import pytest
from django.urls import reverse

from inventory.models import Device, Transfer
from inventory.services import devices_transfer
from tests.events.conftest import build_world

pytestmark = pytest.mark.django_db


def test_admin_transfer_accepted_at_once(client, world):
    devices = world.devices(2, custodian=world.admin)
    client.force_login(world.admin)
    response = client.post(reverse("inventory:transfer_create"), {
        "from_custodian": world.admin.pk, "devices": [d.pk for d in devices],
        "to_custodian": world.rep.pk, "accept_now": "on",
    }, follow=True)
    transfer = Transfer.objects.get()
    assert transfer.status == Transfer.Status.ACCEPTED
    assert set(Device.objects.values_list("custodian_id", flat=True)) == {world.rep.pk}
    assert "now in Ann Rep&#x27;s custody" in response.content.decode()


def test_admin_transfer_not_accepted_at_once_waits_for_recipient(client, world):
    devices = world.devices(2, custodian=world.admin)
    client.force_login(world.admin)
    client.post(reverse("inventory:transfer_create"), {
        "from_custodian": world.admin.pk, "devices": [d.pk for d in devices],
        "to_custodian": world.rep.pk,
    })
    transfer = Transfer.objects.get()
    assert transfer.status == Transfer.Status.PENDING
    assert set(Device.objects.values_list("custodian_id", flat=True)) == {world.admin.pk}

    client.force_login(world.rep)
    listing = client.get(reverse("inventory:transfer_list")).content.decode()
    awaiting = listing.split('data-testid="awaiting"', 1)[1].split("</section>", 1)[0]
    assert f"#{transfer.pk}" in awaiting and "Accept" in awaiting and "Decline" in awaiting
    client.post(reverse("inventory:transfer_accept", args=[transfer.pk]))
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.ACCEPTED
    assert set(Device.objects.values_list("custodian_id", flat=True)) == {world.rep.pk}


def test_decline_needs_a_reason_and_devices_stay_with_sender(client, world):
    devices = world.devices(1, custodian=world.admin)
    transfer = devices_transfer(actor=world.admin, devices=devices, to_custodian=world.rep,
                                accept_now=False)
    client.force_login(world.rep)
    url = reverse("inventory:transfer_decline", args=[transfer.pk])
    client.post(url, {"reason": "  "})
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.PENDING
    client.post(url, {"reason": "Wrong size"})
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DECLINED
    device = Device.objects.get()
    assert device.custodian == world.admin and device.pending_transfer is None
    html = client.get(reverse("inventory:transfer_detail", args=[transfer.pk])).content.decode()
    assert "Wrong size" in html and "stayed with" in html


def test_rep_transfers_from_own_custody_only(client, world):
    mine = world.devices(1)
    theirs = world.devices(1, custodian=world.rep2)
    client.force_login(world.rep)
    page = client.get(reverse("inventory:transfer_create")).content.decode()
    assert mine[0].serial in page and theirs[0].serial not in page
    assert "Accept at once" not in page
    response = client.post(reverse("inventory:transfer_create"), {
        "devices": [theirs[0].pk], "to_custodian": world.admin.pk,
    })
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Transfer.objects.exists()
    client.post(reverse("inventory:transfer_create"), {
        "devices": [mine[0].pk], "to_custodian": world.rep2.pk, "accept_now": "on",
    })
    transfer = Transfer.objects.get()
    assert transfer.status == Transfer.Status.PENDING  # a rep's transfer always waits


def test_admin_picks_devices_of_any_custodian_htmx(client, world):
    devices = world.devices(2, custodian=world.rep2)
    client.force_login(world.admin)
    response = client.get(reverse("inventory:transfer_create"),
                          {"from_custodian": world.rep2.pk}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith("<fieldset")
    assert all(d.serial in html for d in devices)


def test_managers_cannot_transfer_and_others_cannot_answer(client, world):
    devices = world.devices(1, custodian=world.admin)
    transfer = devices_transfer(actor=world.admin, devices=devices, to_custodian=world.rep,
                                accept_now=False)
    client.force_login(world.manager)
    assert client.get(reverse("inventory:transfer_create")).status_code == 403
    assert client.post(reverse("inventory:transfer_accept", args=[transfer.pk])).status_code == 403
    client.force_login(world.rep2)  # not part of it: not even visible
    assert client.post(reverse("inventory:transfer_accept", args=[transfer.pk])).status_code == 404
    assert client.get(reverse("inventory:transfer_detail", args=[transfer.pk])).status_code == 404
    other = build_world()
    client.force_login(other.admin)
    assert client.get(reverse("inventory:transfer_detail", args=[transfer.pk])).status_code == 404
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.PENDING


@pytest.mark.parametrize("extra", [0, 15])
def test_transfer_pages_query_count_is_bounded(client, world, django_assert_max_num_queries,
                                               extra):
    devices = world.devices(4 + extra, custodian=world.admin)
    for d in devices:
        devices_transfer(actor=world.admin, devices=[d], to_custodian=world.rep, accept_now=False)
    big = world.devices(3 + extra, custodian=world.rep2)
    transfer = devices_transfer(actor=world.admin, devices=big, to_custodian=world.rep)
    client.force_login(world.rep)
    with django_assert_max_num_queries(8):
        client.get(reverse("inventory:transfer_list"))
    with django_assert_max_num_queries(8):
        client.get(reverse("inventory:transfer_detail", args=[transfer.pk]))
    client.force_login(world.admin)
    with django_assert_max_num_queries(10):
        client.get(reverse("inventory:transfer_create"), {"from_custodian": world.rep.pk})
