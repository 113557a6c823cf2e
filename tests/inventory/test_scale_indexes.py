"""All Inventory at scale: index-served serial and lot lookups, capped paging and counts."""

import datetime

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.tables import MAX_PER_PAGE
from inventory import selectors
from inventory.filters import DeviceFilter
from inventory.models import Device, DeviceStatus
from inventory.tables import COUNT_CAP, CappedPaginator
from tests.factories import (
    AdminFactory,
    ManufacturerFactory,
    OrganizationFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
)
from tests.plans import plan_nodes

pytestmark = pytest.mark.django_db

LIST = reverse("inventory:device_list")


def _bulk_devices(org, custodian, count: int) -> None:
    """``count`` available devices of a few products and many lots (no ledger: a plan check)."""
    line = ProductLineFactory(organization=org, manufacturer=ManufacturerFactory(organization=org))
    products = [ProductFactory(organization=org, product_line=line) for _ in range(5)]
    expiry = timezone.localdate() + datetime.timedelta(days=400)
    Device.objects.bulk_create([
        Device(organization=org, product=products[n % 5], serial=f"SC{n:07d}",
               lot=f"LOT-{n // 20:05d}", expiration_date=expiry + datetime.timedelta(days=n % 300),
               status=DeviceStatus.AVAILABLE, custodian=custodian)
        for n in range(count)
    ], batch_size=2000)


def _device_plan(queryset) -> list[dict]:
    """The plan nodes that read inventory_device, from EXPLAIN (FORMAT JSON)."""
    return _sql_device_plan(*queryset.query.sql_with_params())


def _sql_device_plan(sql: str, params=()) -> list[dict]:
    return plan_nodes(sql, params, relation="inventory_device")

@pytest.mark.parametrize("field, value, index", [
    ("serial", "sc00012", "device_org_serial_upper"),  # istartswith: UPPER(serial) LIKE 'SC00012%'
    ("lot", "lot-00042", "device_org_lot_upper"),  # iexact: UPPER(lot) = UPPER('lot-00042')
])
def test_serial_and_lot_filters_are_served_by_their_indexes(field, value, index):
    org, other = OrganizationFactory(), OrganizationFactory()
    admin = AdminFactory(organization=org)
    _bulk_devices(org, UserFactory(organization=org), 4000)
    _bulk_devices(other, UserFactory(organization=other), 4000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_device")
    request = RequestFactory().get(LIST, {field: value})
    request.user = admin
    devices = DeviceFilter(request.GET, queryset=selectors.device_list(user=admin),
                           request=request).qs
    assert devices.exists()

    nodes = _device_plan(devices[:50])
    assert nodes, "the plan reads no device rows"
    for node in nodes:
        assert node["Node Type"] != "Seq Scan", node
        assert node.get("Index Name") == index, node
        # Not a full-index walk: the lookup itself is the index condition.
        assert "upper" in node.get("Index Cond", "").lower(), node


def test_per_page_is_capped_and_counts_stop_at_the_cap(client, settings):
    org = OrganizationFactory()
    admin = AdminFactory(organization=org)
    _bulk_devices(org, UserFactory(organization=org), 250)
    client.force_login(admin)

    response = client.get(LIST, {"per_page": 5000})
    assert response.status_code == 200
    assert response.context["table"].page.paginator.per_page == MAX_PER_PAGE
    assert len(response.context["table"].page.object_list) == MAX_PER_PAGE
    assert "250 devices" in response.content.decode()

    paginator = CappedPaginator(Device.objects.filter(organization=org).order_by("pk"), 50)
    assert (paginator.count, paginator.capped) == (250, False)


def test_count_above_the_cap_says_so(monkeypatch, client):
    import inventory.tables

    monkeypatch.setattr(inventory.tables, "COUNT_CAP", 100)
    org = OrganizationFactory()
    admin = AdminFactory(organization=org)
    _bulk_devices(org, UserFactory(organization=org), 130)
    client.force_login(admin)
    response = client.get(LIST, {"page": 2})
    html = response.content.decode()
    assert "More than 100 devices" in html
    assert response.context["table"].page.paginator.num_pages == 2
    assert COUNT_CAP == 10_000


def test_filter_options_read_as_values_carry_the_models_own_labels():
    """option_labels builds each <option> from values, not instances: same labels as str()."""
    from consignment.models import Facility
    from inventory.filters import option_labels
    from inventory.models import Manufacturer, Product, ProductLine
    from tests.factories import FacilityFactory

    org = OrganizationFactory()
    UserFactory(organization=org, first_name="Ann", last_name="Lee")
    UserFactory(organization=org, first_name="", last_name="", username="nameless")
    UserFactory(organization=org, first_name="Bo", last_name="")
    ProductFactory(organization=org, product_line=ProductLineFactory(
        organization=org, manufacturer=ManufacturerFactory(organization=org)))
    FacilityFactory(organization=org, name="St <Mary's> & Co")
    from accounts.models import User

    for model in (User, Product, Facility, Manufacturer, ProductLine):
        queryset = model.objects.filter(organization=org)
        assert list(option_labels(queryset)) == [(o.pk, str(o)) for o in queryset], model


def test_filter_selects_render_as_django_selects(world, rf):
    """FastSelect's options are Django's Select's (template-rendered): values, labels (escaped)
    and the selection; only the whitespace differs (and the empty choice, selected by default)."""
    import re

    from django import forms

    def options(html):
        return [(value, label, bool(selected)) for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', html) if value]

    from core.forms import FastSelect
    from inventory.filters import DeviceFilter

    request = rf.get(LIST, {"facility": world.st_marys.pk})
    request.user = world.admin
    form = DeviceFilter(request.GET, queryset=selectors.device_list(user=world.admin),
                        request=request).form
    # (Product is a text box with suggestions since issue 23: tests/inventory/
    # test_product_search_filter.py.)
    for name in ("status", "facility", "custodian", "manufacturer", "product_line"):
        field = form.fields[name]
        assert isinstance(field.widget, FastSelect)
        plain = forms.Select(attrs=field.widget.attrs)
        plain.choices = field.widget.choices
        value = form[name].value()
        fast = form[name].as_widget()  # the Bootstrap class comes from core.forms.CompactForm
        assert fast.startswith(f'<select name="{name}" class="form-select form-select-sm" '
                               f'id="id_{name}">')
        assert options(fast) == options(plain.render(name, value, {"id": f"id_{name}"})), name
        assert len(options(fast)) == len(field.widget.choices) - 1
    from django.utils.html import escape

    assert (str(world.st_marys.pk), escape(world.st_marys.name), True) in options(
        form["facility"].as_widget())


def _facility_stock(org, *, facilities: int = 6, per_facility: int = 150, used: int = 300):
    """Facility stock (several products) and devices already used at each facility (their
    history), beside ``_bulk_devices``' custody: a facility's shelf is a small part of its rows."""
    from consignment.models import Facility
    from events.models import Event, EventType

    admin = AdminFactory(organization=org)
    line = ProductLineFactory(organization=org, manufacturer=ManufacturerFactory(organization=org))
    products = [ProductFactory(organization=org, product_line=line) for _ in range(8)]
    places = [Facility.objects.create(organization=org, name=f"F{org.pk}-{n}",
                                      account_number=f"A{org.pk}-{n}") for n in range(facilities)]
    sale = Event.objects.create(
        organization=org, event_type=EventType.STOCKING_ORDER, name="SO", date=timezone.localdate(),
        facility=places[0], representative=admin, manufacturer=line.manufacturer,
        product_line=line, created_by=admin, status="pending_po", submitted_at=timezone.now(),
        submitted_by=admin, signature_name="Ann",
    )
    expiry = timezone.localdate() + datetime.timedelta(days=200)
    rows = []
    for place in places:
        rows += [Device(organization=org, product=products[n % 8], serial=f"F{place.pk}-{n}",
                        lot="L1", expiration_date=expiry + datetime.timedelta(days=n % 90),
                        status=DeviceStatus.FACILITY_STOCK, facility=place, sold_on=sale)
                 for n in range(per_facility)]
        rows += [Device(organization=org, product=products[n % 8], serial=f"U{place.pk}-{n}",
                        lot="L0", expiration_date=expiry, status=DeviceStatus.CONSUMED,
                        facility=place, sold_on=sale, used_in=sale)
                 for n in range(used)]
    Device.objects.bulk_create(rows, batch_size=2000)
    return places, products


def test_facility_stock_by_facility_reads_an_index():
    """Facility stock looked up by facility (and product) — the return and facility-stock case
    candidates, the par-level counts — is read off an index, not a scan of every device, now
    that the (facility, product) partial index is gone: each of these queries also filters by
    the organisation, which leads device_org_facility_stock (migration inventory 0013)."""
    from inventory.selectors import facility_stock_devices
    from reporting import selectors as reports
    from tests.factories import ParLevelFactory

    org, other = OrganizationFactory(), OrganizationFactory()
    for each in (org, other):
        _bulk_devices(each, UserFactory(organization=each), 4000)
    places, products = _facility_stock(org)
    _facility_stock(other)
    for product in products[:3]:
        ParLevelFactory(organization=org, facility=places[1], product=product, minimum=10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_device")

    querysets = [
        facility_stock_devices(organization_id=org.pk, facility_id=places[1].pk,
                               include_expired=True),  # a Return's candidates
        facility_stock_devices(organization_id=org.pk, facility_id=places[1].pk),  # a case's
    ]
    for queryset in querysets:
        assert queryset.exists()
        nodes = _device_plan(queryset.order_by("expiration_date", "pk")[:25])
        assert nodes, "the plan reads no device rows"
        for node in nodes:
            assert node["Node Type"] != "Seq Scan", node
    # Stock against par (the dashboard, its CSV, the stock alerts, days of cover): one query,
    # the on-hand counts grouped by facility and product (the dashboard's SQL; the CSV's ORM twin,
    # a subquery per par level, is gone). Its device rows are read through an index, never a
    # scan of every device: on this small set the planner takes (organization, status, custodian)
    # in a bitmap scan; the partial device_org_facility_stock serves it too.
    from reporting.selectors.stock import stock_sql

    scope = reports.Scope(organization_id=org.pk)
    filters = reports.ReportFilters.default()
    rows = reports.stock_against_par(scope, filters)
    assert [r["on_hand"] for r in rows if r["par"] is not None] == [19, 19, 19]
    sql, params = stock_sql(scope, filters)
    nodes = _sql_device_plan(sql, params)
    assert nodes, "the plan reads no device rows"
    for node in nodes:
        assert node["Node Type"] != "Seq Scan", node
    indexes = {node.get("Index Name") for device in nodes
               for node in [device, *device.get("Plans", [])]} - {None}
    assert indexes & {"device_org_facility_stock", "inventory_d_organiz_a3e1c6_idx"}, nodes


def test_devices_in_transit_are_found_by_their_partial_index():
    """The foreign key to a transfer has a partial index (devices in transit only, migration
    inventory 0013): deleting a transfer — never done by the app — nulls its devices (Django's
    SET_NULL) and checks the key through it instead of scanning every device."""
    from inventory.models import Transfer

    org = OrganizationFactory()
    sender, recipient = UserFactory(organization=org), UserFactory(organization=org)
    _bulk_devices(org, sender, 4000)
    transfer = Transfer.objects.create(organization=org, from_custodian=sender,
                                       to_custodian=recipient, actor=sender,
                                       status=Transfer.Status.PENDING)
    moving = list(Device.objects.filter(organization=org).order_by("pk")[:3])
    Device.objects.filter(pk__in=[d.pk for d in moving]).update(pending_transfer=transfer)
    transfer.devices.set(moving)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_device")

    [node] = _device_plan(Device.objects.filter(pending_transfer__in=[transfer.pk]))
    assert node.get("Index Name") == "device_in_transit", node

    with CaptureQueriesContext(connection) as queries:
        transfer.delete()
    nulled = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith('UPDATE "inventory_device"')]
    assert nulled, "the transfer's devices were not nulled"
    assert not Device.objects.filter(pending_transfer__isnull=False).exists()



def test_the_api_device_list_reads_the_organisations_devices_in_id_order(client):
    """The API's keyset pages (newest id first) read the organisation's own devices off
    ``device_org_id``: not the primary key backwards past every newer device of other
    organisations (1.2 s for the first page of the oldest organisation at 10M devices)."""
    from api.services import api_token_create

    org, other = OrganizationFactory(), OrganizationFactory()
    admin = AdminFactory(organization=org)
    _bulk_devices(org, UserFactory(organization=org), 300)
    _bulk_devices(other, UserFactory(organization=other), 6000)  # newer ids than org's
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_device")
    _token, secret = api_token_create(actor=admin, name="plan", scope="read",
                                      expires_in_days=1)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/devices/", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 50
    [sql] = [q["sql"] for q in queries.captured_queries
             if 'FROM "inventory_device"' in q["sql"] and "ORDER BY" in q["sql"]]
    nodes = _sql_device_plan(sql)
    assert [node.get("Index Name") for node in nodes] == ["device_org_id"], nodes
    assert "organization_id" in nodes[0].get("Index Cond", ""), nodes[0]
