"""All Inventory, CSV export and the device page."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils.html import escape

from core.exports import csv_safe
from inventory.models import Device
from tests.events.conftest import build_world
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LIST = reverse("inventory:device_list")


def listed_serials(response) -> set[str]:
    """Serials shown in the All Inventory table."""
    html = response.content.decode()
    table = html.split('data-testid="devices"', 1)[1].split("</table>", 1)[0]
    return {s for s in Device.objects.values_list("serial", flat=True) if f">{s}</a>" in table}


def test_facility_stock_of_one_facility_and_show_deactivated(client, world):
    at_marys = world.facility_stock(2, facility=world.st_marys)
    at_mercy = world.facility_stock(1, facility=world.mercy)
    rep_stock = world.devices(2)
    # One of St. Mary's facility stock is used in a case: consumed (deactivated).
    case = world.event("case", facility=world.st_marys, facility_stock_only=True)
    world.add(case, [at_marys[0]])
    world.submit(case)
    # A rep-inventory case at St. Mary's: consumed there too, but never facility stock.
    direct = world.event("case", facility=world.st_marys)
    world.add(direct, [rep_stock[0]])
    world.submit(direct)

    client.force_login(world.admin)
    query = {"status": "facility_stock", "facility": world.st_marys.pk}
    response = client.get(LIST, query)
    assert response.status_code == 200
    assert listed_serials(response) == {at_marys[1].serial}

    response = client.get(LIST, {**query, "show_deactivated": "on"})
    assert listed_serials(response) == {at_marys[0].serial, at_marys[1].serial}
    assert "Consumed" in response.content.decode()

    # No filters: active devices only (facility stock and rep inventory), nothing consumed.
    response = client.get(LIST)
    assert listed_serials(response) == {at_marys[1].serial, at_mercy[0].serial,
                                        rep_stock[1].serial}
    response = client.get(LIST, {"show_deactivated": "on"})
    assert listed_serials(response) == {d.serial for d in [*at_marys, *at_mercy, *rep_stock]}


def test_filters_by_custodian_lot_serial_and_expiry(client, world):
    ann = world.devices(2, lot="LOT-ANN", expires_in_days=40)
    bob = world.devices(1, custodian=world.rep2, lot="LOT-BOB", expires_in_days=400)
    client.force_login(world.manager)
    assert listed_serials(client.get(LIST, {"custodian": world.rep2.pk})) == {bob[0].serial}
    assert listed_serials(client.get(LIST, {"lot": "lot-ann"})) == {d.serial for d in ann}
    assert listed_serials(client.get(LIST, {"serial": ann[0].serial})) == {ann[0].serial}
    before = (ann[0].expiration_date + datetime.timedelta(days=1)).isoformat()
    assert listed_serials(client.get(LIST, {"expiring_before": before})) == {
        d.serial for d in ann}
    assert listed_serials(client.get(LIST, {"status": "available", "sort": "-serial"})) == {
        *(d.serial for d in ann), bob[0].serial}


def test_in_transit_devices_are_marked(client, world):
    from inventory.services import devices_transfer

    devices = world.devices(2)
    transfer = devices_transfer(actor=world.admin, devices=devices[:1], to_custodian=world.rep2,
                                accept_now=False)
    client.force_login(world.admin)
    html = client.get(LIST).content.decode()
    # The list's rows are values (inventory.selectors.DeviceRow); the recipient is read apart.
    badge = (f'title="Transfer #{transfer.pk} to {escape(str(world.rep2))}">In transit</span>')
    assert html.count(badge) == 1
    row = html[html.index(f">{devices[0].serial}</a>"):]
    assert row.index(badge) < row.index("</tr>")


def test_rep_sees_own_custody_and_facility_stock_only(client, world):
    mine = world.devices(1)
    theirs = world.devices(1, custodian=world.rep2)
    shelf = world.facility_stock(1, facility=world.mercy)
    client.force_login(world.rep)
    assert listed_serials(client.get(LIST)) == {mine[0].serial, shelf[0].serial}
    assert client.get(reverse("inventory:device_detail", args=[theirs[0].pk])).status_code == 404
    assert client.get(reverse("inventory:device_detail", args=[shelf[0].pk])).status_code == 200
    # The custodian filter can't reveal another rep's devices.
    assert listed_serials(client.get(LIST, {"custodian": world.rep2.pk})) == set()


def test_other_organisations_device_is_404_and_not_listed(client, world):
    other = build_world()
    theirs = other.devices(1)
    mine = world.devices(1)
    client.force_login(world.admin)
    assert client.get(reverse("inventory:device_detail", args=[theirs[0].pk])).status_code == 404
    assert listed_serials(client.get(LIST)) == {mine[0].serial}
    # Their facility can't be chosen as a filter either.
    response = client.get(LIST, {"facility": other.st_marys.pk})
    assert "Select a valid choice" in response.content.decode()
    export = b"".join(client.get(reverse("inventory:device_export")).streaming_content)
    assert theirs[0].serial.encode() not in export


@pytest.mark.parametrize("extra", [0, 30])
def test_all_inventory_query_count_is_bounded(client, world, django_assert_max_num_queries,
                                              extra):
    world.devices(3 + extra)
    world.devices(2 + extra, custodian=world.rep2)
    world.facility_stock(2)
    client.force_login(world.admin)
    with django_assert_max_num_queries(12):
        response = client.get(LIST, {"sort": "custodian"})
    assert response.status_code == 200
    with django_assert_max_num_queries(12):
        client.get(LIST, {"status": "facility_stock", "facility": world.st_marys.pk,
                          "show_deactivated": "on"})


def test_csv_export_streams_filtered_rows_and_neutralises_formulas(client, world):
    product = ProductFactory(product_line=world.line, organization=world.org,
                             description="=HYPERLINK(\"http://evil\")")
    world.devices(1, product=product, serials=["@SUM(A1)"])
    world.devices(1, custodian=world.rep2, lot="OTHER")
    client.force_login(world.admin)
    response = client.get(reverse("inventory:device_export"), {"custodian": world.rep.pk})
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Device ID", "Manufacturer", "Product line"]
    assert len(rows) == 2  # header + the rep's device, not rep2's
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Serial"] == "'@SUM(A1)"
    assert row["Description"].startswith("'=HYPERLINK")
    assert row["Status"] == "Available"
    assert row["Custodian"] == f"Ann Rep ({world.rep.username})"


def test_csv_safe():
    assert csv_safe("=1+1") == "'=1+1"
    assert csv_safe("+1") == "'+1"
    assert csv_safe("-5") == "'-5"
    assert csv_safe("@x") == "'@x"
    assert csv_safe("SN-1") == "SN-1"
    assert csv_safe(None) == ""


def test_device_page_shows_identity_place_and_history(client, world):
    from inventory.services import devices_transfer

    device = world.devices(1)[0]
    devices_transfer(actor=world.admin, devices=[device], to_custodian=world.rep2)
    device.refresh_from_db()
    client.force_login(world.admin)
    html = client.get(reverse("inventory:device_detail", args=[device.pk])).content.decode()
    for text in [device.serial, world.product.gtin, device.lot,
                 f"{device.expiration_date:%Y-%m-%d}", escape(device.udi), "Bob Cover",
                 "Received", "Transferred", "Transfer #"]:
        assert text in html, text


def test_patient_id_shown_to_admin_manager_and_the_case_rep_only(client, world):
    devices = world.devices(1)
    case = world.event("case", patient_id="PT-SECRET-77")
    world.add(case, devices)
    world.submit(case)
    url = reverse("inventory:device_detail", args=[devices[0].pk])
    for user in (world.admin, world.manager):
        client.force_login(user)
        html = client.get(url).content.decode()
        assert "PT-SECRET-77" in html
        assert f'href="{reverse("events:detail", args=[case.pk])}"' in html
    # A consumed device is out of every rep's sight (404), so no rep can read its patient ID.
    client.force_login(world.rep2)
    assert client.get(url).status_code == 404


def test_patient_id_rule_admin_manager_and_the_events_rep(world):
    """Reps see consumed devices they sold or used; patient IDs only of their own cases."""
    from inventory.selectors import may_see_patient_id

    case = world.event("case", rep=world.rep, patient_id="PT-1")
    assert may_see_patient_id(world.admin, case)
    assert may_see_patient_id(world.manager, case)
    assert may_see_patient_id(world.rep, case)
    assert not may_see_patient_id(world.rep2, case)
    assert not may_see_patient_id(world.admin, None)


@pytest.mark.parametrize("extra", [0, 20])
def test_device_page_query_count_is_bounded(client, world, django_assert_max_num_queries,
                                            extra):
    from inventory.services import devices_transfer

    device = world.devices(1)[0]
    people = [world.rep2, world.rep]
    for i in range(3 + extra):
        devices_transfer(actor=world.admin, devices=[device], to_custodian=people[i % 2])
    client.force_login(world.admin)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("inventory:device_detail", args=[device.pk]))
    assert response.content.decode().count("Transferred") == 3 + extra


def test_all_inventory_flags_expired_active_devices(client):
    import datetime

    from django.utils import timezone

    from tests.factories import AdminFactory, UserFactory, receive

    rep = UserFactory()
    today = timezone.localdate()
    expired = receive(custodian=rep, expires_in_days=10, today=today - datetime.timedelta(days=30))
    fresh = receive(custodian=rep, expires_in_days=200)
    client.force_login(AdminFactory(organization=rep.organization))
    html = client.get(reverse("inventory:device_list")).content.decode()
    assert html.count(">Expired</span>") == 1
    row = html[html.index(expired[0].serial):]
    assert row.index(">Expired</span>") < row.index("</tr>")
    assert fresh[0].serial in html


def test_rep_sees_what_their_facility_stock_became(client, world):
    """Article Part 3: All Inventory → Facility stock → facility → show deactivated: what was
    sold and used. A rep sees the devices they sold or used, with patient IDs of their own
    cases only, and everything at the facilities they cover."""
    sold = world.facility_stock(3, facility=world.st_marys)  # sold by world.rep
    # rep2 covers a case using one unit; world.rep uses another in their own case.
    theirs = world.event("case", rep=world.rep2, facility_stock_only=True, patient_id="PT-THEIRS")
    world.add(theirs, [sold[0]])
    world.submit(theirs)
    mine = world.event("case", rep=world.rep, facility_stock_only=True, patient_id="PT-MINE")
    world.add(mine, [sold[1]])
    world.submit(mine)
    query = {"status": "facility_stock", "facility": world.st_marys.pk, "show_deactivated": "on"}

    client.force_login(world.rep)
    assert listed_serials(client.get(LIST, query)) == {d.serial for d in sold}
    html = client.get(reverse("inventory:device_detail", args=[sold[1].pk])).content.decode()
    assert "PT-MINE" in html
    html = client.get(reverse("inventory:device_detail", args=[sold[0].pk])).content.decode()
    assert "PT-THEIRS" not in html  # sold by this rep, used in another rep's case

    # rep2 used one unit: they see it (with their patient ID) but not the unit world.rep used.
    client.force_login(world.rep2)
    assert listed_serials(client.get(LIST, query)) == {sold[0].serial, sold[2].serial}
    html = client.get(reverse("inventory:device_detail", args=[sold[0].pk])).content.decode()
    assert "PT-THEIRS" in html
    assert client.get(reverse("inventory:device_detail", args=[sold[1].pk])).status_code == 404

    # Covering St. Mary's: everything there, patient IDs still only of their own cases.
    world.st_marys.reps.add(world.rep2)
    assert listed_serials(client.get(LIST, query)) == {d.serial for d in sold}
    html = client.get(reverse("inventory:device_detail", args=[sold[1].pk])).content.decode()
    assert "PT-MINE" not in html
    # The admin's count and the covering rep's agree.
    client.force_login(world.admin)
    assert listed_serials(client.get(LIST, query)) == {d.serial for d in sold}


def test_custodian_sort_follows_the_name_shown(client, world):
    """The Custodian column shows "First Last": two custodians with one first name sort by last
    name, not by username."""
    from tests.factories import UserFactory

    zed = UserFactory(organization=world.org, first_name="Ann", last_name="Zed",
                      username="a-ann")
    adams = UserFactory(organization=world.org, first_name="Ann", last_name="Adams",
                        username="z-ann")
    (by_zed,), (by_adams,) = world.devices(1, custodian=zed), world.devices(1, custodian=adams)
    client.force_login(world.admin)
    html = client.get(LIST, {"sort": "custodian"}).content.decode()
    assert html.index(f">{by_adams.serial}</a>") < html.index(f">{by_zed.serial}</a>")
    html = client.get(LIST, {"sort": "-custodian"}).content.decode()
    assert html.index(f">{by_zed.serial}</a>") < html.index(f">{by_adams.serial}</a>")


@pytest.mark.parametrize("page, shown", [("99", "last"), ("abc", "first"), ("0", "last")])
def test_a_page_out_of_range_shows_the_last_or_first_page(client, world, page, shown):
    """A stale link (page 99 after the stock shrank) or a garbled one shows a page of devices,
    as django-tables2 promises, not an error."""
    devices = sorted(world.devices(3, lot="LOT-PAGES"), key=lambda d: (d.expiration_date, d.pk))
    client.force_login(world.admin)
    response = client.get(LIST, {"per_page": 2, "page": page})
    assert response.status_code == 200
    expected = devices[2:] if shown == "last" else devices[:2]
    assert listed_serials(response) == {d.serial for d in expected}
