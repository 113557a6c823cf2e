"""The filter bars' option lists kept per process (core.options): read once per organisation
until one of their rows changes, the same HTML as when read afresh, never another
organisation's."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organization
from core import options
from tests.events.conftest import build_world
from tests.factories import ManufacturerFactory, ProductFactory, UserFactory

LIST_TABLES = ("consignment_facility", "inventory_product", "inventory_productline",
               "inventory_manufacturer", "accounts_user")


def _page(client, url=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url or reverse("inventory:device_list"))
    assert response.status_code == 200
    html = re.sub(r"[A-Za-z0-9]{64}", "", response.content.decode())  # the CSRF tokens
    lists = [q["sql"] for q in queries.captured_queries
             if re.match(r'SELECT .* FROM "({})"'.format("|".join(LIST_TABLES)), q["sql"])
             and "ORDER BY" in q["sql"]]
    return html, lists, len(queries.captured_queries)


def test_lists_are_read_once_and_the_page_is_unchanged(client, world):
    client.force_login(world.admin)
    cold, cold_lists, _ = _page(client)  # (the first request also writes the session)
    warm, warm_lists, warm_count = _page(client)
    assert len(cold_lists) >= 4  # facilities, custodians, product lines, manufacturers, …
    assert warm_lists == []
    assert warm == cold
    options.clear()  # read afresh: the same page, the lists' queries only more
    again, again_lists, again_count = _page(client)
    assert again == cold and again_lists == cold_lists
    assert warm_count == again_count - len(again_lists)
    events, _, _ = _page(client, reverse("events:list"))
    assert _page(client, reverse("events:list"))[0] == events


def test_a_changed_row_is_shown_at_the_next_request(client, world):
    client.force_login(world.admin)
    _page(client)
    world.st_marys.name = "St. Mary's North"
    world.st_marys.save()
    html, lists, _ = _page(client)
    assert "St. Mary&#x27;s North" in html and lists  # read afresh
    ProductFactory(product_line=world.line, organization=world.org, reference="NEW-4242")
    assert "NEW-4242" in _page(client)[0]
    UserFactory(organization=world.org, first_name="Cora", last_name="Newrep")
    assert "Cora Newrep" in _page(client)[0]
    ManufacturerFactory(organization=world.org, name="Brand New Ortho")
    assert "Brand New Ortho" in _page(client)[0]
    world.line.name = "Renamed Line"
    world.line.save()
    assert "Renamed Line" in _page(client)[0]
    world.mercy.delete()
    assert "Mercy General" not in _page(client)[0]


def test_a_login_or_a_rep_assignment(client, world):
    before = Organization.objects.get(pk=world.org.pk).options_version
    world.rep.save(update_fields=["last_login"])  # every login writes it: no list changes
    assert Organization.objects.get(pk=world.org.pk).options_version == before
    world.st_marys.reps.add(world.rep)
    assert Organization.objects.get(pk=world.org.pk).options_version == before + 1


def test_never_another_organisations_lists(client, world):
    other = build_world()
    other.st_marys.name = "Elsewhere Hospital"
    other.st_marys.save()
    client.force_login(world.admin)
    mine = _page(client)[0]
    client.force_login(other.admin)
    theirs = _page(client)[0]
    assert "Elsewhere Hospital" in theirs and "Elsewhere Hospital" not in mine
    client.force_login(world.admin)
    assert _page(client)[0] == mine


def test_signed_out_or_outside_a_request_nothing_is_kept(world):
    from consignment.models import Facility
    from inventory.filters import option_labels

    rows = option_labels(Facility.objects.for_user(world.admin).order_by("name"))
    assert [label for _, label in rows] == ["Mercy General", "St. Mary's"]
    assert options._lists == {}


def test_a_region_change_reaches_the_regional_managers_lists(client, world):
    """A regional manager's filter bar lists the region's facilities and reps: moving a facility
    or a rep into the region (region_save: updates, no signals) shows them at the next request."""
    from consignment.models import Region
    from consignment.services import region_save

    boss = UserFactory(organization=world.org, role="regional_manager", first_name="Reggie",
                       last_name="Boss")
    north = region_save(actor=world.admin, region=Region(organization=world.org, name="North"),
                        facilities=[world.st_marys], members=[boss])
    client.force_login(boss)
    html = _page(client)[0]
    assert "St. Mary" in html and "Mercy" not in html and "Bob Cover" not in html
    region_save(actor=world.admin, region=north, facilities=[world.st_marys, world.mercy],
                members=[boss, world.rep2])
    html = _page(client)[0]
    assert "Mercy" in html and "Bob Cover" in html
