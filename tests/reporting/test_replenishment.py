"""Replenishment: products below par or short of cover, and "Create Stocking Order" — a draft
made through event_create / event_add_devices whose lines obey every rule."""

import pytest
from django.urls import NoReverseMatch, reverse

from billing.submit import event_submit_for_billing
from events.models import Event, EventLine
from events.services import device_problem
from inventory.models import DeviceStatus
from inventory.services import devices_transfer
from reporting import selectors
from reporting.selectors import Scope
from tests.factories import ManufacturerFactory, ProductFactory, ProductLineFactory
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db
URL = reverse("reporting:replenishment")
CREATE = reverse("reporting:replenishment_create")


def test_rows_below_par_or_short_of_cover_with_a_suggested_quantity(shop):
    # Product A: par 5, 3 on hand → suggest 2. Product B: no par, 1 on hand, 9 used in 90 days
    # (0.1 a day) → 10 days of cover < 30 wanted → suggest ceil(30 × 0.1) − 1 = 2.
    # Product C: par 1, 4 on hand, unused → nothing to do.
    b = shop.new_product(reference="MS-B")
    c = shop.new_product(reference="MS-C")
    shop.par(shop.product, 5)
    shop.par(c, 1)
    shop.stock(shop.receive(3))
    used = shop.receive(10, product=b)
    shop.stock(used, today=days(-50))
    shop.use(used[:9], today=days(-20))
    shop.stock(shop.receive(4, product=c))

    rows = selectors.replenishment_rows(Scope(shop.org.pk), facility_id=shop.facility.pk,
                                        cover_target=30, today=days(0))
    assert [(r["reference"], r["on_hand"], r["par"], r["cover_days"], r["suggested"])
            for r in rows] == [("MS-00001", 3, 5, None, 2), ("MS-B", 1, None, 10, 2)]


def _event_url(event):
    try:
        return reverse("events:detail", args=[event.pk])
    except NoReverseMatch:
        return reverse("events:list")


def test_create_stocking_order_prefills_the_reps_soonest_expiring_usable_devices(client, shop):
    shop.par(shop.product, 5)
    shop.stock(shop.receive(2))  # 2 on hand: short by 3
    # The seller holds: two far-off expiries, one soon, one in transit, one expired; the
    # outsider holds the soonest of all.
    late = shop.receive(2, expires_in_days=400)
    soon = shop.receive(1, expires_in_days=40)
    in_transit = shop.receive(1, expires_in_days=10)
    devices_transfer(actor=shop.admin, devices=in_transit, to_custodian=shop.outsider,
                     accept_now=False)
    expired = shop.receive(1, expires_in_days=2, today=days(-10))
    shop.receive(1, custodian=shop.outsider, expires_in_days=5)

    client.force_login(shop.admin)
    page = client.get(URL, {"facility": shop.facility.pk, "rep": shop.seller.pk})
    [group] = page.context["groups"]
    [row] = group["rows"]
    assert (row["suggested"], row["available"]) == (3, 3)  # not in transit, not expired
    assert "Create Stocking Order" in page.content.decode()

    response = client.post(CREATE, {
        "facility": shop.facility.pk, "rep": shop.seller.pk, "product_line": shop.line.pk,
        f"qty_{shop.product.pk}": 3,
    })
    event = Event.objects.get(name__startswith="Replenishment")
    assert response.status_code == 302
    assert response["Location"] == _event_url(event)
    assert (event.event_type, event.status, event.facility, event.representative) == (
        "stocking_order", "draft", shop.facility, shop.seller)
    lines = list(event.lines.select_related("device__product__product_line"))
    picked = [line.device.pk for line in lines]
    assert sorted(picked) == sorted([soon[0].pk, late[0].pk, late[1].pk])
    assert in_transit[0].pk not in picked and expired[0].pk not in picked
    for line in lines:
        assert (line.kind, line.price, line.committed) == ("sale", shop.product.unit_price,
                                                           False)
        assert line.device.status == DeviceStatus.AVAILABLE
        assert device_problem(event, line.device, days(0)) is None
    # ...and the draft can be submitted as it is.
    event_submit_for_billing(actor=shop.admin, event=event, signature_name="Alex Admin")
    assert EventLine.objects.filter(event=event, committed=True).count() == 3


def test_create_takes_fewer_when_the_rep_has_fewer_and_says_so(client, shop):
    shop.receive(1, custodian=shop.coverer)
    client.force_login(shop.coverer)  # a rep, for their own facility
    response = client.post(CREATE, {
        "facility": shop.facility.pk, "rep": shop.coverer.pk, "product_line": shop.line.pk,
        f"qty_{shop.product.pk}": 3,
    }, follow=True)
    event = Event.objects.get()
    assert event.lines.count() == 1 and event.representative == shop.coverer
    assert "2 of the suggested devices are not in" in response.content.decode()


def test_create_without_devices_creates_nothing(client, shop):
    client.force_login(shop.admin)
    response = client.post(CREATE, {
        "facility": shop.facility.pk, "rep": shop.seller.pk, "product_line": shop.line.pk,
        f"qty_{shop.product.pk}": 2,
    }, follow=True)
    assert not Event.objects.exists()
    assert "has no available devices" in response.content.decode()


def test_create_ignores_products_of_another_line(client, shop):
    other_line = ProductLineFactory(organization=shop.org,
                                    manufacturer=ManufacturerFactory(organization=shop.org))
    other = ProductFactory(organization=shop.org, product_line=other_line)
    shop.receive(1, product=other)
    shop.receive(1)
    client.force_login(shop.admin)
    client.post(CREATE, {"facility": shop.facility.pk, "rep": shop.seller.pk,
                         "product_line": shop.line.pk, f"qty_{shop.product.pk}": 1,
                         f"qty_{other.pk}": 1})
    event = Event.objects.get()
    assert [line.device.product for line in event.lines.all()] == [shop.product]


def test_a_rep_cannot_create_for_another_rep_and_a_manager_cannot_create(client, shop):
    shop.receive(1)
    client.force_login(shop.outsider)
    client.post(CREATE, {"facility": shop.facility.pk, "rep": shop.seller.pk,
                         "product_line": shop.line.pk, f"qty_{shop.product.pk}": 1})
    assert not Event.objects.exists()
    client.force_login(shop.manager)
    response = client.post(CREATE, {"facility": shop.facility.pk, "rep": shop.seller.pk,
                                     "product_line": shop.line.pk,
                                     f"qty_{shop.product.pk}": 1})
    assert response.status_code == 403
    assert not Event.objects.exists()


def test_replenishment_page_query_bound(client, shop, django_assert_max_num_queries):
    client.force_login(shop.admin)
    for n in (1, 5):
        for _ in range(n):
            product = shop.new_product()
            shop.par(product, 3)
            shop.receive(2, product=product)
        with django_assert_max_num_queries(14):
            page = client.get(URL, {"facility": shop.facility.pk, "rep": shop.seller.pk})
    assert len(page.context["groups"][0]["rows"]) == 6
