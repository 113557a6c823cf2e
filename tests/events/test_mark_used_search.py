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


# --- why the rep may not use a match (issue 23 leftovers) ----------------------------------------


def hidden_world(world: World):
    """A stocking order for Acme screws, and screws the rules keep off it, one per reason: in
    Bob's custody, in the admin's, in transit to the rep and from the rep, in kit K-7,
    quarantined by recall R-2026-009, used on a case, sold to Mercy General."""
    from inventory.recall_services import recall_open
    from inventory.services import devices_transfer
    from tests.kits.conftest import build_kits

    screw = ProductFactory(product_line=world.line, organization=world.org, reference="HS-1",
                           description="Hidden screw 4.5")

    def unit(serial, custodian=None, lot="LOT-A"):
        return receive(custodian=custodian or world.rep, product=screw, serials=[serial],
                       lot=lot, actor=world.admin)

    unit("HS-MINE")  # the one the rep may add
    unit("HS-BOB", custodian=world.rep2)
    unit("HS-DESK", custodian=world.admin)  # the warehouse's custody: no rep's, it is named
    devices_transfer(actor=world.rep2, devices=unit("HS-COMING", custodian=world.rep2),
                     to_custodian=world.rep, accept_now=False)
    devices_transfer(actor=world.rep, devices=unit("HS-GOING"), to_custodian=world.rep2,
                     accept_now=False)
    world.kits = build_kits(world)
    world.kits.build("K-7", screws=1, plates=0)  # SCR-55 "Pedicle screw 5.5 x 40"
    unit("HS-RECALLED", lot="LOT-R")
    recall_open(actor=world.admin, manufacturer=world.maker, reference="R-2026-009",
                reason="Thread may strip.", recall_class="II", action="return", scope="lots",
                lots=["LOT-R"])
    case = world.event("case", facility=world.mercy)
    world.add(case, unit("HS-USED"))
    world.submit(case)
    world.stocking_order(unit("HS-SOLD"), facility=world.mercy)
    return world.event("stocking_order", facility=world.st_marys)


def said(client, event, query) -> list[str]:
    html = client.get(reverse("events:device_search", args=[event.pk]), {"q": query}).content
    return [re.sub(r"\s+", " ", s).strip() for s in re.findall(
        r'data-testid="search-hidden">(.*?)</div>', html.decode(), re.S)]


@pytest.mark.parametrize(("query", "sentence"), [
    ("HS-BOB", "1 match is held by another rep."),
    ("HS-COMING", "1 match is in transit from Bob Cover to you: accept the transfer first."),
    ("HS-GOING", "1 match is in transit from you to Bob Cover."),
    ("SCR-55", "1 match is in kit K-7: a kit&#x27;s units are used only from a kit on loan to "
               "the case&#x27;s facility."),
    ("HS-RECALLED", "1 match is quarantined by recall R-2026-009: it can&#x27;t be used until "
                    "released."),
    ("HS-USED", "1 match is already used on a case."),
    ("HS-SOLD", "1 match is already sold: facility stock at Mercy General."),
], ids=["another-rep", "in-transit-to-me", "in-transit-from-me", "in-a-kit", "recalled", "used",
        "sold"])
def test_the_search_says_why_the_rep_may_not_use_a_match(client, world, query, sentence):
    event = hidden_world(world)
    client.force_login(world.rep)
    assert said(client, event, query) == [sentence]
    html = client.get(reverse("events:device_search", args=[event.pk]), {"q": query}).content
    assert serials(html.decode()) == [] and b"No matching devices you can add." in html


def test_every_reason_is_said_once_with_its_count_and_the_usable_unit_is_listed(client, world):
    event = hidden_world(world)
    client.force_login(world.rep)
    html = client.get(reverse("events:device_search", args=[event.pk]), {"q": "HS-"}).content
    assert serials(html.decode()) == ["HS-MINE"]
    assert said(client, event, "HS-") == [
        "1 match is quarantined by recall R-2026-009: it can&#x27;t be used until released.",
        "1 match is already used on a case.",
        "1 match is in transit from Bob Cover to you: accept the transfer first.",
        "1 match is in transit from you to Bob Cover.",
        "1 match is already sold: facility stock at Mercy General.",
        f"1 match is held by {world.admin}.",
        "1 match is held by another rep.",
    ]
    world.kits.build("K-8", screws=2, plates=0)
    assert said(client, event, "SCR-55") == [
        "3 matches are in kits K-7 (1), K-8 (2): a kit&#x27;s units are used only from a kit on "
        "loan to the case&#x27;s facility."]


def test_an_admin_is_told_whose_custody_and_a_case_at_the_facility_where_its_stock_is(
    client, world
):
    """An admin sees the organisation's inventory: the holder is named. A normal case at the
    facility that holds the sold unit is told how to use it."""
    event = hidden_world(world)
    client.force_login(world.admin)
    assert said(client, event, "HS-BOB") == ["1 match is held by Bob Cover."]
    assert said(client, event, "HS-COMING") == [
        "1 match is in transit from Bob Cover to Ann Rep: accept the transfer first."]
    case = world.event("case", facility=world.mercy)
    client.force_login(world.rep)
    assert said(client, case, "HS-SOLD") == [
        "1 match is facility stock at Mercy General, already sold: tick “Show Facility Stock "
        "items only” to use it."]
