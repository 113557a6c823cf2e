"""Stock adjustments, receiving (form and scanned labels) and recall trace pages."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils.html import escape

from inventory.models import Device, DeviceMovement, DeviceStatus, StockAdjustment
from inventory.udi import udi_hri, udi_raw
from tests.events.conftest import build_world, in_days
from tests.factories import ProductFactory, ProductLineFactory

pytestmark = pytest.mark.django_db


# --- stock adjustments -------------------------------------------------------------------------


def test_adjustment_removes_rep_and_facility_stock_by_serial_and_label(client, world):
    rep_device = world.devices(1)[0]
    shelf = world.facility_stock(1)[0]
    client.force_login(world.admin)
    response = client.post(reverse("inventory:adjustment_create"), {
        "devices": f"{rep_device.serial}\n{shelf.udi}\n", "reason": "damaged",
        "effect": "remove", "note": "Dropped in the OR",
    }, follow=True)
    adjustment = StockAdjustment.objects.get()
    html = response.content.decode()
    assert f"Stock adjustment #{adjustment.pk}" in html
    assert rep_device.serial in html and shelf.serial in html and "Dropped in the OR" in html
    assert set(Device.objects.values_list("status", flat=True)) == {DeviceStatus.REMOVED}
    assert DeviceMovement.objects.filter(adjustment=adjustment).count() == 2


def test_adjustment_moves_facility_stock_to_another_facility(client, world):
    shelf = world.facility_stock(1, facility=world.st_marys)[0]
    client.force_login(world.admin)
    response = client.post(reverse("inventory:adjustment_create"), {
        "devices": shelf.serial, "reason": "facility_correction", "effect": "move_to_facility",
    })
    assert "Choose the facility to move the devices to." in response.content.decode()
    client.post(reverse("inventory:adjustment_create"), {
        "devices": shelf.serial, "reason": "facility_correction", "effect": "move_to_facility",
        "to_facility": world.mercy.pk,
    })
    shelf.refresh_from_db()
    assert shelf.facility == world.mercy and shelf.status == DeviceStatus.FACILITY_STOCK


def test_adjustment_errors_are_shown_and_nothing_changes(client, world):
    device = world.devices(1)[0]
    client.force_login(world.admin)
    response = client.post(reverse("inventory:adjustment_create"), {
        "devices": f"{device.serial}\nNO-SUCH-SERIAL", "reason": "lost", "effect": "remove",
    })
    assert "Line 2: no device &#x27;NO-SUCH-SERIAL&#x27;" in response.content.decode()
    response = client.post(reverse("inventory:adjustment_create"), {
        "devices": device.serial, "reason": "found", "effect": "restore",
    })
    assert "only removed devices can be restored" in response.content.decode()
    device.refresh_from_db()
    assert device.status == DeviceStatus.AVAILABLE and not StockAdjustment.objects.exists()


def test_adjustment_effect_has_no_default_and_must_match_the_reason(client, world):
    """Issue 23: the form defaulted to "Remove", and "Found" + "Remove" removed a facility-stock
    unit. The effect starts unchosen and the service's refusal shows under the effect."""
    shelf = world.facility_stock(1)[0]
    client.force_login(world.admin)
    html = client.get(reverse("inventory:adjustment_create")).content.decode()
    select = html[html.index('name="effect"'):]
    select = select[:select.index("</select>")]
    assert '<option value="" selected>Choose…</option>' in select
    assert "selected" not in select.replace('<option value="" selected>', "")
    response = client.post(reverse("inventory:adjustment_create"), {
        "devices": shelf.serial, "reason": "found"})
    assert "This field is required." in response.content.decode()
    response = client.post(reverse("inventory:adjustment_create"), {
        "devices": shelf.serial, "reason": "found", "effect": "remove"})
    html = response.content.decode()
    assert "The reason “Found” contradicts the effect “Remove”" in html
    assert "with this reason the effect must be “Restore”" in html
    shelf.refresh_from_db()
    assert shelf.status == DeviceStatus.FACILITY_STOCK and not StockAdjustment.objects.exists()


def test_adjustments_are_admin_work(client, world):
    other = build_world()
    theirs = other.devices(1)[0]
    client.force_login(world.admin)
    response = client.post(reverse("inventory:adjustment_create"), {
        "devices": theirs.serial, "reason": "lost", "effect": "remove"})
    assert "no device" in response.content.decode()
    client.force_login(world.manager)
    assert client.get(reverse("inventory:adjustment_create")).status_code == 403
    assert client.get(reverse("inventory:adjustment_list")).status_code == 200
    client.force_login(world.rep)
    assert client.get(reverse("inventory:adjustment_create")).status_code == 403
    assert "made by your admin" in client.get(reverse("inventory:adjustment_list")
                                               ).content.decode()


def test_device_search_finds_by_label_and_serial(client, world):
    device = world.devices(1)[0]
    other = build_world().devices(1)[0]
    client.force_login(world.admin)
    url = reverse("inventory:device_search")
    assert f">SN {device.serial}<" in client.get(url, {"q": device.udi}).content.decode()
    raw = udi_raw(world.product.gtin, device.expiration_date, device.lot, device.serial)
    assert device.serial in client.get(url, {"q": raw}).content.decode()
    html = client.get(url, {"q": other.serial}).content.decode()
    assert f">{other.serial}<" not in html and "No device matches" in html


@pytest.mark.parametrize("extra", [0, 20])
def test_adjustment_pages_query_count_is_bounded(client, world, django_assert_max_num_queries,
                                                 extra):
    from inventory.services import AdjustmentLine, stock_adjustment_create

    for device in world.devices(2 + extra):
        stock_adjustment_create(actor=world.admin, reason="lost",
                                lines=[AdjustmentLine(device=device, effect="remove")])
    big = stock_adjustment_create(
        actor=world.admin, reason="damaged",
        lines=[AdjustmentLine(device=d, effect="remove") for d in world.devices(3 + extra)])
    client.force_login(world.manager)
    with django_assert_max_num_queries(6):
        client.get(reverse("inventory:adjustment_list"))
    with django_assert_max_num_queries(6):
        response = client.get(reverse("inventory:adjustment_detail", args=[big.pk]))
    assert response.content.decode().count("Removed") >= 3 + extra


# --- receiving -----------------------------------------------------------------------------------


def test_receive_by_form(client, world):
    client.force_login(world.admin)
    response = client.post(reverse("inventory:receiving"), {
        "product": world.product.pk, "lot": "L-77", "expiration_date": in_days(300),
        "serials": "A1\nA2\n\nA3", "custodian": world.rep.pk,
    }, follow=True)
    assert "Received 3 devices" in response.content.decode()
    assert sorted(Device.objects.values_list("serial", flat=True)) == ["A1", "A2", "A3"]
    response = client.post(reverse("inventory:receiving"), {
        "product": world.product.pk, "lot": "L-77", "expiration_date": in_days(300),
        "serials": "A3", "custodian": world.rep.pk,
    })
    assert "Already received" in response.content.decode()
    assert Device.objects.count() == 3


def test_receiving_is_admin_only(client, world):
    for user in (world.rep, world.manager):
        client.force_login(user)
        for name in ("receiving", "receiving_scan", "receiving_import"):
            assert client.get(reverse(f"inventory:{name}")).status_code == 403


def test_receive_by_scanning_labels(client, world):
    url = reverse("inventory:receiving_scan")
    expiry = in_days(200)
    labels = [udi_raw(world.product.gtin, expiry, "L-SCAN", f"S{i}") for i in range(3)]
    client.force_login(world.admin)
    state = ""
    for label in labels:
        response = client.post(url, {"labels": state, "label": label, "action": "add",
                                     "custodian": world.admin.pk})
        html = response.content.decode()
        state = response.context["labels_text"]
    hri = [udi_hri(world.product.gtin, expiry, "L-SCAN", f"S{i}") for i in range(3)]
    assert state.split("\n") == hri
    assert "Receive 3 devices" in html and "L-SCAN" in html
    # A label scanned twice, or of an unknown product, is refused with a message.
    response = client.post(url, {"labels": state, "label": labels[0], "action": "add"})
    assert "already in the list" in response.content.decode()
    unknown = udi_hri("00000000000000", expiry, "L", "X")
    response = client.post(url, {"labels": state, "label": unknown, "action": "add"})
    assert "unknown GTIN" in response.content.decode()
    assert response.context["labels_text"] == state
    # Remove the second one, then receive the rest.
    response = client.post(url, {"labels": state, "action": "remove-1"})
    state = response.context["labels_text"]
    assert state.split("\n") == [hri[0], hri[2]]
    response = client.post(url, {"labels": state, "action": "receive",
                                 "custodian": world.admin.pk}, follow=True)
    assert "Received 2 devices" in response.content.decode()
    assert sorted(Device.objects.values_list("serial", flat=True)) == ["S0", "S2"]
    assert Device.objects.filter(custodian=world.admin, lot="L-SCAN",
                                 expiration_date=expiry).count() == 2


# --- recall trace --------------------------------------------------------------------------------


def test_recall_trace_lists_every_unit_with_case_and_patient(client, world):
    lot = world.devices(3, lot="RECALL-1")
    world.devices(1, lot="OTHER")
    shelf = lot[0]
    world.stocking_order([shelf], facility=world.mercy)
    case = world.event("case", facility=world.st_marys, patient_id="PT-555", surgeon="Dr. Who")
    world.add(case, [lot[1]])
    world.submit(case)
    client.force_login(world.manager)
    url = reverse("inventory:recall_trace")
    response = client.get(url, {"manufacturer": world.maker.pk, "lot": "RECALL-1"})
    html = response.content.decode()
    assert response.context["page"].paginator.count == 3
    for text in ["PT-555", "Dr. Who", "Mercy General", "Ann Rep", "Consumed: 1",
                 "Facility stock: 1", "Available: 1"]:
        assert text in html, text
    # By GTIN, or by a scanned label: the same units (+ the other lot for the GTIN).
    assert client.get(url, {"gtin": world.product.gtin}).context["page"].paginator.count == 4
    label = udi_hri(world.product.gtin, lot[2].expiration_date, "RECALL-1", None)
    assert client.get(url, {"label": label}).context["page"].paginator.count == 3
    export = client.get(reverse("inventory:recall_export"),
                        {"manufacturer": world.maker.pk, "lot": "RECALL-1"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == 3
    used = next(r for r in rows if r["Status"] == "Consumed")
    assert used["Patient ID"] == "PT-555" and used["Surgeon"] == "Dr. Who"
    assert used["Case facility"] == "St. Mary's"


def test_recall_trace_asks_the_manufacturer_only_of_a_lot_two_made_and_is_not_for_reps(
    client, world
):
    client.force_login(world.admin)
    response = client.get(reverse("inventory:recall_trace"), {"lot": "X"})
    assert "No device of lot X in your inventory." in response.content.decode()
    # One manufacturer made lot SHARED: no choice needed (issue 23).
    mine = world.devices(2, lot="SHARED")
    response = client.get(reverse("inventory:recall_trace"), {"lot": "SHARED"})
    assert response.context["page"].paginator.count == 2
    assert {d.pk for d in response.context["page"].object_list} == {d.pk for d in mine}
    # Another manufacturer used the same lot number: now the trace asks which.
    other_line = ProductLineFactory(organization=world.org)
    world.devices(1, lot="SHARED", product=ProductFactory(product_line=other_line,
                                                          organization=world.org))
    html = client.get(reverse("inventory:recall_trace"), {"lot": "SHARED"}).content.decode()
    first = sorted([world.maker.name, other_line.manufacturer.name])[0]
    assert f"Lot SHARED is a lot of {escape(first)} and " in html
    assert "choose the manufacturer." in html
    response = client.get(reverse("inventory:recall_trace"),
                          {"lot": "SHARED", "manufacturer": world.maker.pk})
    assert response.context["page"].paginator.count == 2
    client.force_login(world.rep)
    assert client.get(reverse("inventory:recall_trace")).status_code == 403
    assert client.get(reverse("inventory:recall_export")).status_code == 403


@pytest.mark.parametrize("extra", [0, 20])
def test_recall_trace_query_count_is_bounded(client, world, django_assert_max_num_queries,
                                             extra):
    devices = world.devices(4 + extra, lot="Q-LOT")
    case = world.event("case", patient_id="PT-1")
    world.add(case, devices[: 2 + extra])
    world.submit(case)
    client.force_login(world.admin)
    with django_assert_max_num_queries(9):  # 9th: the patient-ID access log insert
        response = client.get(reverse("inventory:recall_trace"),
                              {"manufacturer": world.maker.pk, "lot": "Q-LOT"})
    assert response.content.decode().count("PT-1<") == 2 + extra


def test_recall_trace_pages_keep_the_search(client, world):
    world.devices(201, lot="BIG-LOT")
    client.force_login(world.admin)
    url = reverse("inventory:recall_trace")
    html = client.get(url, {"manufacturer": world.maker.pk, "lot": "BIG-LOT"}).content.decode()
    assert "Page 1 of 2" in html
    assert f"?manufacturer={world.maker.pk}&amp;lot=BIG-LOT&amp;page=2" in html
    response = client.get(url, {"manufacturer": world.maker.pk, "lot": "BIG-LOT", "page": 2})
    assert len(response.context["page"].object_list) == 1
