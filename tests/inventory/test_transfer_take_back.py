"""Issue 23, point 10: the recipient list leaves out the sender, devices show their description,
the sender takes back a transfer in transit, and the recipient's waiting transfers are one
selector (``transfers_waiting_for``) the home page can count."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from events.services import event_add_devices
from inventory.models import Device, DeviceMovement, Transfer
from inventory.selectors import transfers_waiting_for
from inventory.services import (
    devices_transfer,
    transfer_accept,
    transfer_take_back,
)
from tests.events.conftest import build_world

pytestmark = pytest.mark.django_db


def test_the_recipient_list_leaves_out_the_sender_and_devices_show_descriptions(client, world):
    world.devices(1)
    client.force_login(world.rep)
    html = client.get(reverse("inventory:transfer_create")).content.decode()
    recipients = html.split('name="to_custodian"', 1)[1].split("</select>", 1)[0]
    assert f'value="{world.rep.pk}"' not in recipients
    assert f'value="{world.rep2.pk}"' in recipients and f'value="{world.admin.pk}"' in recipients
    assert escape(world.product.description) in html
    # An admin sending from a rep: that rep is not offered as the recipient either.
    client.force_login(world.admin)
    html = client.get(
        reverse("inventory:transfer_create"), {"from_custodian": world.rep.pk}
    ).content.decode()
    recipients = html.split('name="to_custodian"', 1)[1].split("</select>", 1)[0]
    assert f'value="{world.rep.pk}"' not in recipients
    assert f'value="{world.admin.pk}"' in recipients


def test_the_sender_takes_back_a_transfer_in_transit(client, world):
    devices = world.devices(2)
    transfer = devices_transfer(actor=world.rep, devices=devices, to_custodian=world.rep2)
    movements = DeviceMovement.objects.count()
    assert list(transfers_waiting_for(world.rep2)) == [transfer]
    assert list(transfers_waiting_for(world.rep)) == []

    client.force_login(world.rep)
    page = client.get(reverse("inventory:transfer_detail", args=[transfer.pk])).content.decode()
    assert 'data-testid="take-back-form"' in page
    assert escape(world.product.description) in page
    client.post(reverse("inventory:transfer_take_back", args=[transfer.pk]))
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == (Transfer.Status.TAKEN_BACK, world.rep)
    assert set(Device.objects.values_list("custodian_id", "pending_transfer_id")) == {
        (world.rep.pk, None)
    }
    # Nothing changed hands: no movement; the rep may use the devices again at once.
    assert DeviceMovement.objects.count() == movements
    event_add_devices(actor=world.rep, event=world.event("stocking_order"), devices=devices)
    assert list(transfers_waiting_for(world.rep2)) == []
    page = client.get(reverse("inventory:transfer_detail", args=[transfer.pk])).content.decode()
    assert "Taken back by" in page and 'data-testid="take-back-form"' not in page
    # Too late to answer it.
    with pytest.raises(ValidationError, match="already taken back"):
        transfer_accept(actor=world.rep2, transfer=transfer)


def test_only_the_sender_takes_back_and_only_while_in_transit(client, world):
    devices = world.devices(1)
    transfer = devices_transfer(actor=world.rep, devices=devices, to_custodian=world.rep2)
    with pytest.raises(PermissionDenied):
        transfer_take_back(actor=world.rep2, transfer=transfer)
    client.force_login(world.rep2)
    page = client.get(reverse("inventory:transfer_detail", args=[transfer.pk])).content.decode()
    assert 'data-testid="take-back-form"' not in page
    assert (
        client.post(reverse("inventory:transfer_take_back", args=[transfer.pk])).status_code == 403
    )
    client.force_login(world.manager)
    assert (
        client.post(reverse("inventory:transfer_take_back", args=[transfer.pk])).status_code == 403
    )
    other = build_world()
    with pytest.raises(ValidationError, match="not part of your organisation"):
        transfer_take_back(actor=other.admin, transfer=transfer)
    transfer_accept(actor=world.rep2, transfer=transfer)
    with pytest.raises(ValidationError, match="already accepted"):
        transfer_take_back(actor=world.rep, transfer=transfer)
    assert Device.objects.get().custodian == world.rep2


@pytest.mark.django_db(transaction=True)
def test_take_back_racing_accept_has_one_winner():
    for _ in range(3):
        world = build_world()
        devices = world.devices(3)
        transfer = devices_transfer(actor=world.rep, devices=devices, to_custodian=world.rep2)
        barrier, outcomes = threading.Barrier(2), []

        def run(fn, actor, barrier=barrier, transfer=transfer, outcomes=outcomes):
            try:
                barrier.wait()
                fn(actor=actor, transfer=transfer)
                outcomes.append("won")
            except ValidationError:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [
            threading.Thread(target=run, args=(transfer_take_back, world.rep)),
            threading.Thread(target=run, args=(transfer_accept, world.rep2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["refused", "won"]
        transfer.refresh_from_db()
        holder = world.rep2 if transfer.status == Transfer.Status.ACCEPTED else world.rep
        assert transfer.status in (Transfer.Status.ACCEPTED, Transfer.Status.TAKEN_BACK)
        assert set(
            Device.objects.filter(pk__in=[d.pk for d in devices]).values_list(
                "custodian_id", "pending_transfer_id"
            )
        ) == {(holder.pk, None)}
