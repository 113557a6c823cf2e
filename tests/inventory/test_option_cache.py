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


def _option_sql_compiled(monkeypatch) -> list[str]:
    """The tables whose SQL ``Query.sql_with_params`` compiles (what core.options keys lists
    by when no scope names them)."""
    from django.db.models.sql.query import Query

    compiled = []
    original = Query.sql_with_params

    def spy(self):
        compiled.append(self.model._meta.db_table)
        return original(self)

    monkeypatch.setattr(Query, "sql_with_params", spy)
    return compiled


def test_a_warm_filter_bar_compiles_no_option_sql(client, world, monkeypatch):
    """The filter bars' lists are named (filter set, filter, user): a warm page finds each list
    without compiling its queryset's SQL; the same page as with the lists read afresh."""
    client.force_login(world.admin)
    for url in (reverse("inventory:device_list"), reverse("events:list")):
        cold = _page(client, url)[0]
        compiled = _option_sql_compiled(monkeypatch)
        warm = _page(client, url)[0]
        assert warm == cold
        assert not set(compiled) & set(LIST_TABLES)
        monkeypatch.undo()


def test_a_renamed_product_or_facility_is_shown_at_the_next_request(client, world):
    """Named lists are kept under the organisation's version too: a product's new description
    (the All Inventory datalist) and a facility's new name (the events list's select) show at
    the next request."""
    client.force_login(world.admin)
    _page(client)
    _page(client, reverse("events:list"))
    world.product.description = "Renamed pedicle screw"
    world.product.save()
    assert "Renamed pedicle screw" in _page(client)[0]
    world.mercy.name = "Mercy General West"
    world.mercy.save()
    assert "Mercy General West" in _page(client, reverse("events:list"))[0]


def test_a_scoped_field_forgets_its_name_with_another_queryset(world):
    """A form's copy of a named field keeps the name (a copy of the same queryset); a field
    given another queryset (a form narrowing it) forgets it, so its list is keyed by its SQL."""
    import copy

    from consignment.models import Facility
    from core.forms import ScopedModelChoiceField
    from inventory.filters import ProductSearchField

    field = ScopedModelChoiceField(queryset=Facility.objects.for_user(world.admin))
    field.options_scope = ("F", "facility", "exact", world.admin.pk)
    assert copy.deepcopy(field).options_scope == field.options_scope
    field.queryset = Facility.objects.filter(pk=world.mercy.pk)
    assert field.options_scope is None

    products = ProductSearchField(queryset=world.product.__class__.objects.all())
    products.options_scope = ("F", "product", "exact", world.admin.pk)
    copied = copy.deepcopy(products)
    assert copied.widget.options_scope == products.options_scope
    copied.queryset = copied.queryset.filter(pk=world.product.pk)
    assert copied.options_scope is None and copied.widget.options_scope is None


def test_a_filter_bars_form_class_is_kept_per_user_and_version(world, rf):
    """The filter set's form class is built once per user and organisation version: the same
    class at the next request, another for another user (a rep's events filter has no
    representative), a new one once a row of its lists changes."""
    from core.options import reset_reader, set_reader
    from events.filters import EventFilter
    from events.models import Event

    def form_class(user):
        request = rf.get("/events/")
        request.user = type(user).objects.select_related("organization").get(pk=user.pk)
        token = set_reader(request.user)
        try:
            return type(EventFilter(request.GET, queryset=Event.objects.none(),
                                    request=request).form)
        finally:
            reset_reader(token)

    admins = form_class(world.admin)
    assert form_class(world.admin) is admins and "representative" in admins.base_fields
    reps = form_class(world.rep)
    assert reps is not admins and "representative" not in reps.base_fields
    world.mercy.name = "Mercy General West"
    world.mercy.save()
    assert form_class(world.admin) is not admins
