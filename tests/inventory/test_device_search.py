"""The stock adjustment's device search: every way of matching, in catalogue-number order, the
same rows as testing every device would give, with a query count that does not grow."""

import pytest

from inventory import selectors
from inventory.models import Device
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def brute_force(user, matches, limit):
    """The first ``limit`` devices the user may see that ``matches``, by reference, serial, id."""
    rows = [d for d in Device.objects.for_user(user).select_related("product") if matches(d)]
    return sorted(rows, key=lambda d: (d.product.reference, d.serial, d.pk))[:limit]


@pytest.fixture
def catalogue(world):
    """Twelve "Locking screw" products with three devices each, and a plate."""
    products = [ProductFactory(organization=world.org, product_line=world.line,
                               reference=f"LS-{n:02d}", description=f"Locking screw {n} mm",
                               gtin=f"0{n:013d}") for n in range(12)]
    for n, product in enumerate(products):
        world.devices(3, product=product, lot=f"LOT-{n:02d}",
                      serials=[f"X{n:02d}-{i}" for i in range(3)])
    plate = ProductFactory(organization=world.org, product_line=world.line, reference="PL-1",
                           description="Plate")
    world.devices(2, product=plate, lot="LOT-PLATE", serials=["ZZ-1", "ZZ-2"])
    return products


@pytest.mark.parametrize("text, matches", [
    ("screw", lambda d: "screw" in d.product.description.lower()),
    ("LOCKING", lambda d: "locking" in d.product.description.lower()),
    ("ls-03", lambda d: d.product.reference == "LS-03"),
    ("00000000000005", lambda d: d.product.gtin == "00000000000005"),
    ("lot-plate", lambda d: d.lot == "LOT-PLATE"),
    ("x04", lambda d: d.serial.startswith("X04")),
    ("zz-2", lambda d: d.serial == "ZZ-2"),
    ("ZZ", lambda d: d.serial == "ZZ"),  # under 3 characters: the exact serial only (none)
    ("nothing", lambda d: False),
])
@pytest.mark.parametrize("limit", [4, 25])
def test_search_gives_the_first_matches_in_order(world, catalogue, monkeypatch, text, matches,
                                                 limit):
    monkeypatch.setattr(selectors, "PRODUCTS_PER_STEP", 2)  # the walk takes several steps
    found = list(selectors.device_search(user=world.admin, text=text, limit=limit))
    assert found == brute_force(world.admin, matches, limit)


def test_a_rep_finds_only_what_they_may_see(world, catalogue):
    world.devices(2, custodian=world.rep2, product=catalogue[0], lot="LOT-R2",
                  serials=["R2-1", "R2-2"])
    found = selectors.device_search(user=world.rep, text="screw", limit=100)
    assert found and all(d.custodian_id == world.rep.pk for d in found)
    assert not selectors.device_search(user=world.rep, text="R2-1")
    assert [d.serial for d in selectors.device_search(user=world.rep2, text="R2-1")] == ["R2-1"]


def test_search_query_count_does_not_grow_with_matching_products(world, catalogue,
                                                                 django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # serial/lot, products, one step, the rows
        assert len(selectors.device_search(user=world.admin, text="screw")) == 25
