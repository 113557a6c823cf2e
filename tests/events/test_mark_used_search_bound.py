"""The Mark Used search's explanation of hidden matches reads a bounded number of units (issue 29):
an organisation of at most ``UNUSABLE_READ_WHOLE`` units is read whole, a larger one through
indexes (products by id, serial from its start, lot whole), and the page says what it did not
look at — never a silent undercount."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events import selectors
from inventory.models import Device, DeviceStatus
from tests.events.test_mark_used_search import hidden_world, said, serials
from tests.factories import (
    AdminFactory,
    FacilityFactory,
    ManufacturerFactory,
    OrganizationFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    make_event,
    receive,
)
from tests.plans import plan_nodes

pytestmark = pytest.mark.django_db

FROM_THE_START = ("A unit whose serial or lot only contains the search is not counted here: "
                  "serials are matched from their start (whole below 3 characters), lots whole.")


@pytest.fixture
def large(monkeypatch):
    """Every organisation of these tests counts as large: read through indexes."""
    monkeypatch.setattr(selectors, "UNUSABLE_READ_WHOLE", 3)


def test_a_small_organisation_is_read_whole_as_the_search_matches(client, world):
    """Below the bound a word is found anywhere in the serial or lot, and nothing else is said."""
    event = hidden_world(world)
    client.force_login(world.rep)
    assert said(client, event, "BOB") == ["1 match is held by another rep."]


@pytest.mark.parametrize(("query", "sentence"), [
    ("HS-BOB", "1 match is held by another rep."),  # a serial, from its start
    ("hs-co", "1 match is in transit from Bob Cover to you: accept the transfer first."),
    ("lot-r", "1 match is quarantined by recall R-2026-009: it can&#x27;t be used until "
              "released."),  # a lot, whole
    ("SCR-55", "1 match is in kit K-7: a kit&#x27;s units are used only from a kit on loan to "
               "the case&#x27;s facility."),  # a catalogue number, anywhere
    ("screw 4.5 HS-SO", "1 match is already sold: facility stock at Mercy General."),
], ids=["serial", "serial-prefix", "lot", "reference", "every-word"])
def test_a_large_organisation_says_why_and_that_serials_match_from_their_start(
    client, world, large, query, sentence
):
    event = hidden_world(world)
    client.force_login(world.rep)
    assert said(client, event, query) == [sentence, FROM_THE_START.replace("'", "&#x27;")]


def test_a_match_further_in_a_serial_is_not_counted_and_the_page_says_so(client, world, large):
    event = hidden_world(world)
    client.force_login(world.rep)
    html = client.get(reverse("events:device_search", args=[event.pk]), {"q": "BOB"}).content
    assert serials(html.decode()) == []
    assert b"No matching devices you can add." in html
    assert said(client, event, "BOB") == [FROM_THE_START]  # not silence: it says what it skipped
    # The search itself (the rep's own units) still matches anywhere.
    assert serials(client.get(reverse("events:device_search", args=[event.pk]),
                              {"q": "MINE"}).content.decode()) == ["HS-MINE"]


def test_a_way_of_matching_with_more_units_than_it_reads_says_the_counts_are_partial(
    client, world, large, monkeypatch
):
    monkeypatch.setattr(selectors, "UNUSABLE_READ_LIMIT", 2)
    event = hidden_world(world)
    client.force_login(world.rep)
    sentences = said(client, event, "HS-")  # eight units start so; two are read
    assert sum(int(s.split()[0]) for s in sentences[:-2]) <= 4  # two ways, two units each
    assert sentences[-2:] == [
        "Only part of the matches is counted (one way of matching named more than 2 units): "
        "narrow the search.", FROM_THE_START]
    monkeypatch.setattr(selectors, "UNUSABLE_READ_LIMIT", 50)
    assert said(client, event, "HS-")[-1] == FROM_THE_START  # all read: no "part" sentence
    assert not any(s.startswith("Only part") for s in said(client, event, "HS-"))


def test_the_first_200_are_counted_and_then_nothing_else_is_claimed(world, large, monkeypatch):
    monkeypatch.setattr(selectors, "UNUSABLE_LIMIT", 3)
    event = hidden_world(world)
    sentences = selectors.unusable_match_reasons(event=event, query="HS-", viewer=world.rep)
    assert sentences[-1] == "The first 3 such matches are counted: narrow the search."
    assert sum(int(s.split()[0]) for s in sentences[:-1]) == 3


def test_the_explanations_queries_do_not_grow_with_the_units(world, large):
    """Seven queries (the size check, the products, three ways, the units, their details),
    with 8 matching units or 48."""
    event = hidden_world(world)
    screw = world.product
    for query in ("HS-", "Hidden", "LOT-A", "BOB"):
        with CaptureQueriesContext(connection) as few:
            selectors.unusable_match_reasons(event=event, query=query, viewer=world.rep)
        assert len(few) <= 7
    receive(custodian=world.rep2, product=screw, serials=[f"HS-X{n}" for n in range(40)],
            lot="LOT-A", actor=world.admin)
    for query in ("HS-", "Hidden", "LOT-A", "BOB"):
        with CaptureQueriesContext(connection) as many:
            said_ = selectors.unusable_match_reasons(event=event, query=query,
                                                     viewer=world.rep)
        assert len(many) <= 7
    assert said_ == [FROM_THE_START]  # "BOB" starts no serial: nothing found, and it says why


def test_the_search_page_has_a_query_bound_that_does_not_grow(
    client, world, large, django_assert_max_num_queries
):
    event = hidden_world(world)
    client.force_login(world.rep)
    url = reverse("events:device_search", args=[event.pk])
    client.get(url, {"q": "HS-"})
    with django_assert_max_num_queries(20):
        client.get(url, {"q": "HS-"})
    receive(custodian=world.rep2, product=world.product,
            serials=[f"HS-Y{n}" for n in range(40)], actor=world.admin)
    with django_assert_max_num_queries(20):
        html = client.get(url, {"q": "HS-"}).content.decode()
    assert "41 matches are held by another rep." in html  # HS-BOB and the forty


# --- the plans at a size where the planner has a choice ---------------------------------------


def _device_nodes(sql: str) -> list[dict]:
    """The plan nodes reading inventory_device of a logged query (its parameters inlined)."""
    return plan_nodes(sql, relation="inventory_device")

@pytest.mark.parametrize(("query", "index"), [
    ("SC00012", "device_org_serial_upper"),  # UPPER(serial) LIKE 'SC00012%'
    ("lot-00042", "device_org_lot_upper"),  # UPPER(lot) = UPPER('lot-00042')
])
def test_every_query_of_a_large_organisation_reads_devices_through_an_index(
    query, index, large
):
    """8,000 units in two organisations, analysed: no query of the explanation reads the device
    table from end to end, and the serial and lot ways read their own indexes."""
    orgs = []
    for _ in range(2):
        org = OrganizationFactory()
        line = ProductLineFactory(organization=org,
                                  manufacturer=ManufacturerFactory(organization=org))
        products = [ProductFactory(organization=org, product_line=line) for _ in range(5)]
        holder = UserFactory(organization=org)
        expiry = timezone.localdate() + datetime.timedelta(days=400)
        Device.objects.bulk_create([
            Device(organization=org, product=products[n % 5], serial=f"SC{n:07d}",
                   lot=f"LOT-{n // 20:05d}", expiration_date=expiry,
                   status=DeviceStatus.AVAILABLE, custodian=holder)
            for n in range(4000)
        ], batch_size=2000)
        orgs.append((org, line))
    org, line = orgs[0]
    rep = UserFactory(organization=org)  # a rep holding none of them
    event = make_event(actor=AdminFactory(organization=org), representative=rep,
                       facility=FacilityFactory(organization=org), product_line=line)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_device")
    with CaptureQueriesContext(connection) as ctx:
        sentences = selectors.unusable_match_reasons(event=event, query=query, viewer=rep)
    assert sentences[0].endswith("held by another rep.") and sentences[-1] == FROM_THE_START
    read = {}
    for captured in ctx.captured_queries:
        sql = captured["sql"]
        if sql.endswith(f"LIMIT 1 OFFSET {selectors.UNUSABLE_READ_WHOLE}"):
            continue  # is the organisation large? Bounded by its offset, whatever the plan
        nodes = _device_nodes(sql)
        for node in nodes:
            assert node["Node Type"] != "Seq Scan", sql
        read[sql] = {node.get("Index Name") for node in nodes}
    assert any(index in names for names in read.values())
