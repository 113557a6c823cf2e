"""All Inventory at scale: index-served serial and lot lookups, capped paging and counts."""

import datetime
import json

import pytest
from django.db import connection
from django.test import RequestFactory
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
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if node.get("Relation Name") == "inventory_device":
            nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


@pytest.mark.postgres
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
    for name in ("status", "facility", "custodian", "manufacturer", "product_line", "product"):
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
