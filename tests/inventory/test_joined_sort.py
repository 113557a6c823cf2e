"""All Inventory sorted by another table's column (custodian, reference, description, facility):
above the count cap the page is read by walking the related table in order (a LATERAL join
under LIMIT), with the same rows in the same order as sorting every matching device."""

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import inventory.tables
from consignment.models import Facility
from events.models import Event, EventType
from inventory import selectors
from inventory.models import Device, DeviceStatus
from tests.factories import (
    AdminFactory,
    FacilityFactory,
    ManufacturerFactory,
    OrganizationFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
)
from tests.plans import plan_nodes

pytestmark = pytest.mark.django_db

LIST = reverse("inventory:device_list")
SORTS = [sign + name for name in selectors.JOINED_ORDERS for sign in ("", "-")]


def _sorted_by(sort: str):
    """The order_by of a ``sort`` parameter, as the All Inventory table applies it."""
    order = selectors.JOINED_ORDERS[sort.lstrip("-")]
    return order.expressions(descending=sort.startswith("-"))


def _shop(org, *, devices: int, custodians: int = 4, facilities: int = 3, products: int = 6):
    """Available devices spread over custodians (two with the same first name), facility stock
    spread over facilities, lot-tracked units (no serial), some consumed: every group a joined
    sort meets, NULLs included. No ledger: a read-side test."""
    admin = AdminFactory(organization=org, first_name="Zed", username=f"admin-{org.pk}")
    people = [UserFactory(organization=org, first_name="Ann" if n < 2 else f"P{n}",
                          username=f"u{org.pk}-{n}") for n in range(custodians)]
    line = ProductLineFactory(organization=org, manufacturer=ManufacturerFactory(organization=org))
    catalogue = [ProductFactory(organization=org, product_line=line,
                                description="Screw" if n % 2 else "Plate")
                 for n in range(products)]
    places = [FacilityFactory(organization=org) for _ in range(facilities)]
    sale = Event.objects.create(
        organization=org, event_type=EventType.STOCKING_ORDER, name="SO", date=timezone.localdate(),
        facility=places[0], representative=people[0], manufacturer=line.manufacturer,
        product_line=line, created_by=admin, status="pending_po", submitted_at=timezone.now(),
        submitted_by=admin, signature_name="Ann",
    )
    expiry = timezone.localdate() + datetime.timedelta(days=300)
    rows = []
    for n in range(devices):
        product = catalogue[n % products]
        serial = None if n % 7 == 0 else f"S{org.pk}-{n:05d}"
        kind = n % 5
        if kind == 4:
            rows.append(Device(organization=org, product=product, serial=serial, lot=f"L{n % 9}",
                               expiration_date=expiry, status=DeviceStatus.FACILITY_STOCK,
                               facility=places[n % facilities], sold_on=sale))
        else:
            rows.append(Device(organization=org, product=product, serial=serial, lot=f"L{n % 9}",
                               expiration_date=expiry, status=DeviceStatus.AVAILABLE,
                               custodian=people[n % custodians]))
    Device.objects.bulk_create(rows, batch_size=2000)
    return admin, line


@pytest.mark.parametrize("sort", SORTS)
def test_joined_sort_pages_match_a_full_sort(client, monkeypatch, sort):
    monkeypatch.setattr(inventory.tables, "COUNT_CAP", 40)  # every list here is "large"
    org = OrganizationFactory()
    admin, _ = _shop(org, devices=230)
    _shop(OrganizationFactory(), devices=60)  # another organisation's rows never show
    client.force_login(admin)
    expected = list(
        selectors.device_list(user=admin).filter(status__in=("available", "facility_stock"))
        .order_by(*_sorted_by(sort))
        .values_list("pk", flat=True)[:40]
    )
    seen = []
    for page in (1, 2, 3, 4):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST, {"sort": sort, "page": page, "per_page": 10})
        assert response.status_code == 200
        assert any("LATERAL" in q["sql"] for q in queries.captured_queries), "not walked"
        rows = response.context["table"].page.object_list  # the walked page: a list
        seen += [d.pk for d in getattr(rows, "data", rows)]
    assert seen == expected


def test_joined_sort_walk_keeps_the_filters():
    org = OrganizationFactory()
    admin, line = _shop(org, devices=120)
    other_line = ProductLineFactory(organization=org, manufacturer=line.manufacturer)
    product = ProductFactory(organization=org, product_line=other_line)
    Device.objects.filter(organization=org, pk__in=Device.objects.filter(
        organization=org).order_by("pk").values("pk")[:15]).update(product=product)
    facility = Facility.objects.filter(organization=org).first()
    for filters in ({"product__product_line": other_line},
                    {"status": DeviceStatus.FACILITY_STOCK, "facility": facility}):
        for sort in SORTS:
            qs = selectors.device_list(user=admin).filter(**filters).order_by(
                *_sorted_by(sort))
            for offset in (0, 5):
                page = selectors.device_page_by_joined_column(qs, user=admin, offset=offset,
                                                              limit=5)
                assert [d.pk for d in page] == list(
                    qs.values_list("pk", flat=True)[offset:offset + 5]), (filters, sort)


@pytest.mark.parametrize("sort", SORTS)
def test_joined_sorts_put_missing_values_last(client, sort):
    """Devices without the relation (facility stock has no custodian, a rep's stock no facility)
    and, within a product, lot-tracked units (no serial) come last ascending and first
    descending, as JoinedOrder says and PostgreSQL sorts NULLs. Below the count cap, so this is
    the plain sort, not the walk."""
    admin, _ = _shop(OrganizationFactory(), devices=40)
    client.force_login(admin)
    response = client.get(LIST, {"sort": sort, "per_page": 200})
    rows = response.context["table"].page.object_list
    assert len(rows) == 40
    name = sort.lstrip("-")
    if name in ("custodian", "facility"):
        groups = [rows]
        missing = (lambda row: row.custodian is None) if name == "custodian" else (
            lambda row: row.facility is None)
    else:  # within each product, by serial
        groups = [list(group) for _, group in itertools.groupby(
            rows, key=lambda row: (row.reference, row.description))]
        missing = lambda row: not row.serial  # noqa: E731
    for group in groups:
        flags = [missing(row) for row in group]
        assert flags == sorted(flags, reverse=sort.startswith("-")), (sort, flags)
    assert any(missing(row) for row in rows) and not all(missing(row) for row in rows)


@pytest.mark.parametrize("sort", ["serial", "-serial", "lot", "-lot"])
def test_serial_and_lot_sorts_put_lot_tracked_units_last(client, sort):
    """By serial: lot-tracked units (no serial) last ascending, first descending; by lot, the
    same within each lot, as PostgreSQL sorts NULLs."""
    admin, _ = _shop(OrganizationFactory(), devices=40)
    client.force_login(admin)
    rows = client.get(LIST, {"sort": sort, "per_page": 200}).context["table"].page.object_list
    assert len(rows) == 40
    groups = [rows] if "serial" in sort else [
        list(group) for _, group in itertools.groupby(rows, key=lambda row: row.lot)]
    for group in groups:
        flags = [not row.serial for row in group]
        assert flags == sorted(flags, reverse=sort.startswith("-")), (sort, flags)


def test_every_all_inventory_sort_ends_with_the_id():
    """Devices that tie on every other key (units of one lot without serials) each appear on
    exactly one page: PostgreSQL returns ties in any order, differently for each OFFSET."""
    table = inventory.tables.DeviceTable(Device.objects.none())
    for column in table.columns:
        if column.orderable:
            assert column.order_by[-1].lstrip("-") == "pk", column.name


def test_other_orders_and_reps_are_sliced_as_usual(world):
    world.devices(3)
    qs = selectors.device_list(user=world.admin)
    assert selectors.device_page_by_joined_column(
        qs.order_by("serial", "pk"), user=world.admin, offset=0, limit=10) is None
    assert selectors.device_page_by_joined_column(
        qs.order_by(*_sorted_by("custodian")), user=world.rep, offset=0,
        limit=10) is None


def _device_nodes(sql: str) -> list[dict]:
    return plan_nodes(sql)

@pytest.mark.parametrize("sort, index", [
    ("custodian", "device_org_custodian_id"),
    ("-facility", "device_org_facility_id"),
])
def test_joined_sort_reads_devices_through_indexes_in_order(sort, index):
    """No sequential scan and no sort of the device table: each custodian's (facility's) devices
    come off (organization, relation, id) in order, those without one off an index in id order
    (at scale the partial (organization, id) WHERE relation IS NULL one)."""
    org = OrganizationFactory()
    admin, _ = _shop(org, devices=6000, custodians=12, facilities=10)
    _shop(OrganizationFactory(), devices=3000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_device")
    qs = selectors.device_list(user=admin).filter(
        status__in=("available", "facility_stock")).order_by(*_sorted_by(sort))
    with CaptureQueriesContext(connection) as queries:
        page = selectors.device_page_by_joined_column(qs, user=admin, offset=0, limit=50)
    assert [d.pk for d in page] == list(qs.values_list("pk", flat=True)[:50])
    [walk] = [q["sql"] for q in queries.captured_queries if "LATERAL" in q["sql"]]
    nodes = _device_nodes(walk)
    devices = [n for n in nodes if n.get("Relation Name") == "inventory_device"]
    assert devices
    assert index in {n.get("Index Name") for n in devices}, devices
    assert all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in devices), devices
    # Only the page is sorted (the related rows, then each group's first rows), never the
    # organisation's devices: the plan ends in an Incremental Sort under the Limit.
    assert nodes[0]["Node Type"] == "Limit"
    assert nodes[1]["Node Type"] == "Incremental Sort", nodes[1]


@pytest.mark.parametrize("extra", [0, 300])
def test_joined_sort_query_count_is_bounded(client, monkeypatch, django_assert_max_num_queries,
                                            extra):
    monkeypatch.setattr(inventory.tables, "COUNT_CAP", 50)
    admin, _ = _shop(OrganizationFactory(), devices=100 + extra)
    client.force_login(admin)
    for sort in ("custodian", "-reference"):
        with django_assert_max_num_queries(13):
            response = client.get(LIST, {"sort": sort, "page": 2})
        assert response.status_code == 200
        assert "More than 50 devices" in response.content.decode()
