"""Home: what needs attention, per role, counted, each row a link (issue 23, point 2)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from inventory.models import Device
from inventory.services import devices_transfer
from tests.events.conftest import World, build_world, world  # noqa: F401
from tests.factories import ParLevelFactory
from tests.kits.conftest import build_kits

pytestmark = pytest.mark.django_db


def counts(html: str) -> dict[str, int]:
    """The count shown on each attention row of the home page."""
    return {key: int(n) for key, n in re.findall(
        r'data-testid="attention-([a-z_]+)-count">(\d+)<', html)}


def links(html: str) -> dict[str, str]:
    """Where each attention row leads."""
    return {key: url.replace("&amp;", "&") for url, key in re.findall(
        r'href="([^"]+)" data-testid="attention-([a-z_]+)"', html)}


def busy_world(w: World, *, extra: int = 0) -> None:
    """Something of each kind waiting, ``extra`` more of each where rows can grow."""
    today = timezone.localdate()
    w.st_marys.reps.add(w.rep)  # the rep covers St. Mary's (Mercy General is someone else's)
    # Two transfers in transit: one to the rep, one to rep2.
    devices_transfer(actor=w.rep2, devices=w.devices(1 + extra, custodian=w.rep2),
                     to_custodian=w.rep)
    devices_transfer(actor=w.rep, devices=w.devices(1), to_custodian=w.rep2)
    # Drafts: two of the rep's, one of rep2's.
    for _ in range(2 + extra):
        w.event("case", rep=w.rep)
    w.event("stocking_order", rep=w.rep2)
    # Facility stock at St. Mary's: three units sold (pending PO), one expiring in 10 days, one
    # already expired; par 5 of the product there: low. At Mercy: one unit, par 1 (not low).
    shelf = w.facility_stock(3 + extra, facility=w.st_marys)
    Device.objects.filter(pk=shelf[0].pk).update(expiration_date=today + datetime.timedelta(10))
    Device.objects.filter(pk=shelf[1].pk).update(expiration_date=today - datetime.timedelta(2))
    ParLevelFactory(facility=w.st_marys, product=w.product, minimum=10 + extra)
    w.stocking_order(w.devices(1, custodian=w.rep2), facility=w.mercy, rep=w.rep2)
    ParLevelFactory(facility=w.mercy, product=w.product, minimum=1)
    # rep2's stocking order for Mercy waits for its PO too; a loaned kit of the rep is overdue.
    kits = build_kits(w)
    loan = kits.loan(kits.build(tag="LATE-1"), due_in=0)
    Event.objects.filter(pk=loan.pk).update(due_back=today - datetime.timedelta(1))
    kits.loan(kits.build(tag="TODAY-1"), due_in=0)


def test_home_lists_what_needs_attention_per_role(client, world):  # noqa: F811
    busy_world(world)
    client.force_login(world.rep)
    html = client.get(reverse("home")).content.decode()
    assert "Needs attention" in html
    assert counts(html) == {
        "transfers": 1,  # the one to them, not the one they sent
        "kits": 1,  # LATE-1 overdue; TODAY-1 is due today
        "drafts": 2,  # their own
        "pending_po": 1,  # their stocking order to St. Mary's (rep2's is not theirs)
        "expiring": 1,
        "low": 1,  # St. Mary's below par; Mercy General is not theirs
    }
    assert "1 due back today, 2 out on loan · overdue: LATE-1 at St. Mary" in html
    assert "1 already expired at your facilities" in html
    row_links = links(html)
    assert row_links["transfers"] == reverse("inventory:transfer_list")
    assert row_links["drafts"] == f"{reverse('events:list')}?status=draft"
    assert row_links["pending_po"] == f"{reverse('events:list')}?status=pending_po"
    assert row_links["expiring"] == f"{reverse('reporting:index')}#expiring-title"
    assert row_links["low"] == f"{reverse('reporting:index')}#low-title"
    assert row_links["kits"] == f"{reverse('events:list')}?event_type=loan&status=on_loan"

    client.force_login(world.admin)
    html = client.get(reverse("home")).content.decode()
    assert counts(html) == {"transfers": 0, "kits": 1, "drafts": 3, "pending_po": 2,
                            "expiring": 1, "low": 1}
    assert "2 in transit in the organisation" in html
    assert links(html)["pending_po"] == f"{reverse('billing:queue')}?status=pending_po"

    client.force_login(world.manager)  # reads everything, answers no transfer
    html = client.get(reverse("home")).content.decode()
    assert counts(html) == {"kits": 1, "drafts": 3, "pending_po": 2, "expiring": 1, "low": 1}


def test_home_counts_nothing_of_another_organisation(client, world):  # noqa: F811
    busy_world(build_world())
    client.force_login(world.admin)
    html = client.get(reverse("home")).content.decode()
    assert set(counts(html).values()) == {0}
    client.force_login(world.rep)
    assert set(counts(client.get(reverse("home")).content.decode()).values()) == {0}


@pytest.mark.parametrize("extra", [0, 6])
def test_home_query_count_does_not_grow_with_rows(client, world, extra,  # noqa: F811
                                                  django_assert_max_num_queries):
    busy_world(world, extra=extra)
    for user in (world.rep, world.admin, world.manager):
        client.force_login(user)
        # session, user, transfers, events, facility stock, low stock, kits (counts, the
        # overdue ones named), the organisation's name; the upcoming cases short of requested
        # stock (events' `short_cases`, 3 queries); for admins and managers the pending-PO
        # total and the oldest
        with django_assert_max_num_queries(12):
            response = client.get(reverse("home"))
        assert response.status_code == 200
