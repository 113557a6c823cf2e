"""Mark Used search (issue 23, point 6): the event's product line first, what a search left out
and why, and a badge on units expiring within MARK_USED_EXPIRY_WARNING_DAYS."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Device
from tests.events.conftest import World
from tests.factories import (
    ManufacturerFactory,
    ProductFactory,
    ProductLineFactory,
    make_event,
    receive,
)

pytestmark = pytest.mark.django_db


def cages_order(world: World):
    """A stocking order for Acme's cages, and the rep holding Acme screws (whose catalogue
    numbers sort first), Acme cages, and another maker's cages."""
    cages = ProductLineFactory(manufacturer=world.maker, organization=world.org, name="Cages")
    cage = ProductFactory(product_line=cages, organization=world.org, reference="ZC-100",
                          description="Interbody cage 10 mm")
    screw = ProductFactory(product_line=world.line, organization=world.org, reference="AS-550",
                           description="Pedicle screw 5.5 cage set")
    rival = ManufacturerFactory(organization=world.org, name="Rival Ortho")
    rival_cage = ProductFactory(
        product_line=ProductLineFactory(manufacturer=rival, organization=world.org,
                                        name="Rival cages"),
        organization=world.org, reference="RC-1", description="Rival cage 10 mm")
    receive(custodian=world.rep, product=screw, serials=["S-1", "S-2"], actor=world.admin)
    receive(custodian=world.rep, product=cage, serials=["C-1"], actor=world.admin)
    receive(custodian=world.rep, product=cage, serials=["C-SOON"], expires_in_days=5,
            actor=world.admin)
    receive(custodian=world.rep, product=rival_cage, serials=["R-1", "R-2", "R-3"],
            actor=world.admin)
    event = make_event(actor=world.admin, representative=world.rep, facility=world.st_marys,
                       product_line=cages, event_type="stocking_order")
    return event


def serials(html: str) -> list[str]:
    return re.findall(r'aria-label="Add SN ([A-Z0-9-]+)"', html)


def test_the_events_product_line_comes_first(client, world):
    event = cages_order(world)
    client.force_login(world.rep)
    html = client.get(reverse("events:device_search", args=[event.pk]), {"q": ""}).content.decode()
    # Cages (ZC-100) before screws (AS-550), though AS sorts before ZC; the soonest expiry first.
    assert serials(html) == ["C-SOON", "C-1", "S-1", "S-2"]
    assert html.count('data-testid="other-line"') == 2  # the screws say their line


def test_the_search_says_what_it_left_out_and_why(client, world):
    event = cages_order(world)
    client.force_login(world.rep)
    url = reverse("events:device_search", args=[event.pk])
    html = client.get(url, {"q": "cage 10"}).content.decode()
    assert serials(html) == ["C-SOON", "C-1"]
    assert ("3 matches from other manufacturers are hidden: this event is for Acme Spine."
            in html)
    html = client.get(url, {"q": "R-2"}).content.decode()
    assert serials(html) == []
    assert "No matching devices you can add." in html
    assert "1 match from other manufacturers is hidden: this event is for Acme Spine." in html
    html = client.get(url, {"q": ""}).content.decode()  # no search, nothing "hidden" to say
    assert 'data-testid="search-hidden"' not in html


def test_expired_matches_are_said_to_be_hidden(client, world):
    event = cages_order(world)
    product = ProductFactory(product_line=world.line, organization=world.org, reference="OLD-1")
    receive(custodian=world.rep, product=product, serials=["X-OLD"], expires_in_days=1,
            today=timezone.localdate() - datetime.timedelta(days=3), actor=world.admin)
    client.force_login(world.rep)
    html = client.get(reverse("events:device_search", args=[event.pk]),
                      {"q": "X-OLD"}).content.decode()
    assert "1 expired match is hidden: an expired unit cannot be used or sold." in html


def test_units_expiring_soon_carry_a_badge(client, world, settings):
    event = cages_order(world)
    client.force_login(world.rep)
    url = reverse("events:device_search", args=[event.pk])
    html = client.get(url, {"q": "C-"}).content.decode()
    assert html.count('data-testid="expires-soon"') == 1
    assert "Expires in 5 days" in html
    settings.MARK_USED_EXPIRY_WARNING_DAYS = 400  # every unit here expires within a year
    html = client.get(url, {"q": "C-"}).content.decode()
    assert html.count('data-testid="expires-soon"') == 2
    settings.MARK_USED_EXPIRY_WARNING_DAYS = 3
    html = client.get(url, {"q": "C-"}).content.decode()
    assert 'data-testid="expires-soon"' not in html


def test_a_marked_unit_expiring_soon_is_flagged_on_the_drafts_lines(client, world):
    """A unit scanned onto the draft skips the search: its line carries the badge too."""
    event = cages_order(world)
    soon = Device.objects.get(serial="C-SOON")
    later = Device.objects.get(serial="C-1")
    world.add(event, [soon, later], actor=world.rep)
    client.force_login(world.rep)
    html = client.get(reverse("events:detail", args=[event.pk]), {"tab": "used"}).content.decode()
    assert html.count('data-testid="line-expires-soon"') == 1
    assert ">in 5 d</span>" in html
