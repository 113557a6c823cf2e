"""Draft Cancel (void, kept in history), warnings about lines no longer available, and a refused
Submit For Billing that leaves the browser on the event page."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from events.models import Event, EventLine, EventStatus
from events.services import event_cancel

pytestmark = pytest.mark.django_db


def test_cancel_voids_a_draft_keeps_it_and_releases_its_lines(world):
    devices = world.devices(2)
    draft = world.event("stocking_order")
    world.add(draft, devices)
    cancelled = event_cancel(actor=world.rep, event=draft, reason=" postponed ")
    cancelled.refresh_from_db()
    assert cancelled.status == EventStatus.CANCELLED
    assert (cancelled.cancelled_by, cancelled.cancel_reason) == (world.rep, "postponed")
    assert cancelled.cancelled_at is not None
    assert not EventLine.objects.filter(event=cancelled).exists()
    # The devices are free: another stocking order takes and submits them.
    other = world.event("stocking_order")
    world.add(other, devices)
    assert world.submit(other).status == EventStatus.PENDING_PO


def test_only_a_draft_can_be_cancelled_and_only_by_its_rep_or_an_admin(world):
    submitted = world.stocking_order(world.devices(1))
    with pytest.raises(ValidationError, match="was submitted for billing and can't be cancelled"):
        event_cancel(actor=world.admin, event=submitted)
    assert Event.objects.get(pk=submitted.pk).status == EventStatus.PENDING_PO
    draft = world.event("case")
    event_cancel(actor=world.admin, event=draft)
    with pytest.raises(ValidationError, match="is already cancelled"):
        event_cancel(actor=world.admin, event=draft)
    for outsider in (world.rep2, world.manager):
        with pytest.raises(PermissionDenied):
            event_cancel(actor=outsider, event=world.event("case"))


def test_a_cancelled_event_cannot_be_edited_submitted_or_billed(world):
    from billing.services import purchase_order_record

    devices = world.devices(1)
    draft = world.event("stocking_order")
    world.add(draft, devices)
    event_cancel(actor=world.rep, event=draft)
    with pytest.raises(ValidationError):
        world.add(draft, devices)
    with pytest.raises(ValidationError, match="already submitted|can't be changed"):
        world.submit(draft)
    with pytest.raises(ValidationError, match="was cancelled"):
        purchase_order_record(actor=world.admin, event=draft, number="PO-1")


def test_the_database_refuses_a_cancelled_event_without_who_and_when(world):
    draft = world.event("case")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=draft.pk).update(status=EventStatus.CANCELLED)


def test_cancel_on_the_event_page(client, world):
    draft = world.event("case", actor=world.rep, name="Case NG-001")
    world.add(draft, world.devices(1), actor=world.rep)
    client.force_login(world.rep)
    url = reverse("events:detail", args=[draft.pk])
    html = client.get(url, {"tab": "details"}).content.decode()
    assert 'data-testid="cancel-form"' in html and "Cancel draft" in html
    response = client.post(reverse("events:cancel", args=[draft.pk]),
                           {"reason": "Surgery postponed"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == f"{url}?tab=details"
    assert "Case NG-001 was cancelled; its devices are free for other events." in html
    assert 'data-testid="cancelled-note"' in html and "Surgery postponed" in html
    assert 'data-status="cancelled"' in html and "Cancel draft" not in html
    assert "Submit For Billing</button>" not in client.get(url, {"tab": "used"}).content.decode()
    # Kept in history: the events list still shows it, as Cancelled.
    listing = client.get(reverse("events:list")).content.decode()
    assert "Case NG-001" in listing and ">Cancelled<" in listing
    # Twice: a clear message, nothing changes.
    html = client.post(reverse("events:cancel", args=[draft.pk]), follow=True).content.decode()
    assert "Case NG-001 is already cancelled." in html


def test_a_manager_cannot_cancel(client, world):
    draft = world.event("case")
    client.force_login(world.manager)
    assert client.post(reverse("events:cancel", args=[draft.pk])).status_code == 403
    assert Event.objects.get(pk=draft.pk).is_draft


def test_draft_warns_about_lines_another_event_has_sold_since(client, world):
    devices = world.devices(2)
    draft = world.event("stocking_order", name="Stocking Northgate #1")
    world.add(draft, devices)
    # Another stocking order sells one of the marked devices first.
    other = world.event("stocking_order", facility=world.mercy)
    world.add(other, devices[:1])
    world.submit(other)
    client.force_login(world.rep)
    html = client.get(reverse("events:detail", args=[draft.pk]), {"tab": "used"}).content.decode()
    assert 'data-testid="stale-lines"' in html
    assert "1 marked device can no longer be submitted." in html
    assert f"SN {devices[0].serial} is facility stock of Mercy General, already sold" in html
    assert html.count('data-testid="line-problem"') == 1
    # Removing the stale line clears the warning; the draft then submits.
    client.post(reverse("events:remove_device", args=[draft.pk, devices[0].pk]))
    html = client.get(reverse("events:detail", args=[draft.pk]), {"tab": "used"}).content.decode()
    assert 'data-testid="stale-lines"' not in html


def test_a_refused_submit_stays_on_the_event_page_with_the_reason(client, world):
    devices = world.devices(1)
    draft = world.event("stocking_order", name="Stocking Northgate #2")
    world.add(draft, devices)
    other = world.event("stocking_order", facility=world.mercy)
    world.add(other, devices)
    world.submit(other)
    client.force_login(world.rep)
    response = client.post(reverse("billing:submit", args=[draft.pk]),
                           {"signature_name": "Ann Rep", "attest": "on"}, follow=True)
    detail = reverse("events:detail", args=[draft.pk])
    assert response.redirect_chain == [(f"{detail}?tab=used", 302)]
    assert response.request["PATH_INFO"] == detail
    html = response.content.decode()
    assert 'data-testid="form-errors"' in html and "Mercy General, already sold" in html
    assert Event.objects.get(pk=draft.pk).is_draft
    # Shown once: a reload no longer carries the refusal in the submit form.
    html = client.get(detail, {"tab": "used"}).content.decode()
    assert 'data-testid="form-errors"' not in html
