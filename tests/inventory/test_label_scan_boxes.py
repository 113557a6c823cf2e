"""Every scan box takes GS1, GS1 Digital Link and HIBC labels of the catalogue's products, and
says what is wrong with a label it refuses; products carry a GTIN, a HIBC identifier or both."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from demo.seed import DEMO_HIBC_LABELER, _identifiers
from events.models import EventLine
from inventory.importing import devices_import, read_csv
from inventory.labels import hibc_check_character, hibc_text, parse_label
from inventory.models import Device, DeviceStatus, Product
from inventory.selectors import product_for_label
from tests.events.conftest import build_world, in_days
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hibc_product(world):
    """A product known only by its HIBC identifier (labeler H703, catalogue PS6540, unit 0)."""
    return ProductFactory(product_line=world.line, organization=world.org, gtin="",
                          hibc_labeler="H703", hibc_product="PS6540", hibc_unit=0)


def hibc_label(device) -> str:
    return hibc_text("H703", "PS6540", 0, device.expiration_date, device.lot, device.serial)


def digital_link(device) -> str:
    return (f"https://id.gs1.org/01/{device.product.gtin}/10/{device.lot}/21/{device.serial}"
            f"?17={device.expiration_date:%y%m%d}")


# --- the catalogue -------------------------------------------------------------------------


def test_a_hibc_product_prints_and_reads_back_its_own_label(world, hibc_product):
    (device,) = world.devices(1, product=hibc_product, lot="L-1")
    assert device.udi == device.build_udi() == hibc_label(device)
    assert hibc_product.identifiers == "HIBC +H703PS65400"
    assert product_for_label(organization_id=world.org.pk,
                             label=parse_label(device.udi)) == hibc_product


@pytest.mark.parametrize("fields, constraint", [
    ({"gtin": ""}, "product_has_identifier"),
    ({"gtin": "", "hibc_labeler": "H703", "hibc_product": "X1"}, "product_hibc_complete"),
    ({"hibc_labeler": "h703", "hibc_product": "X1", "hibc_unit": 0}, "product_hibc_complete"),
    ({"hibc_labeler": "H703", "hibc_product": "X1", "hibc_unit": 10}, "product_hibc_complete"),
    ({"hibc_labeler": "H703", "hibc_product": "PS6540", "hibc_unit": 0}, "product_hibc_unique"),
])
def test_the_database_holds_the_identifier_rules(world, hibc_product, fields, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ProductFactory(product_line=world.line, organization=world.org, **fields)


def test_products_without_a_gtin_do_not_collide_and_model_validation_speaks_plainly(world):
    for n in range(2):
        ProductFactory(product_line=world.line, organization=world.org, gtin="",
                       hibc_labeler="H703", hibc_product=f"P{n}", hibc_unit=0)
    product = Product(organization=world.org, product_line=world.line, reference="NEW",
                      description="x", unit_price=1)
    with pytest.raises(ValidationError, match="needs a GTIN or a HIBC identifier"):
        product.full_clean()
    # Another organisation may use the same HIBC identifier.
    other = ProductFactory(gtin="", hibc_labeler="H703", hibc_product="P0", hibc_unit=0)
    assert other.organization != world.org


def test_a_label_maps_to_one_product_or_says_why_not(world, hibc_product):
    org = world.org.pk

    def refusal(text):
        with pytest.raises(ValidationError) as caught:
            product_for_label(organization_id=org, label=parse_label(text))
        return caught.value.messages[0]

    assert refusal("+H703PS65401" + hibc_check_character("+H703PS65401")).endswith(
        "only with unit of measure 0, but the label says unit of measure 1.")
    assert refusal("+H703NOPE0" + hibc_check_character("+H703NOPE0")).startswith(
        "Unknown HIBC product +H703NOPE0 (labeler H703, catalogue number NOPE)")
    assert refusal("(01)00000000000017").startswith("Unknown GTIN 00000000000017")
    # The same HIBC identifier in another organisation is not this one's product.
    ProductFactory(gtin="", hibc_labeler="H703", hibc_product="ELSE", hibc_unit=0)
    assert refusal("+H703ELSE0" + hibc_check_character("+H703ELSE0")).startswith(
        "Unknown HIBC product")


def test_demo_products_carry_hibc_identifiers():
    both, hibc_only = _identifiers("MS", 3), _identifiers("MS", 10)
    assert both["gtin"] and both["hibc_labeler"] == DEMO_HIBC_LABELER
    assert "gtin" not in hibc_only and hibc_only["hibc_product"] == "MS00010"
    assert "hibc_labeler" not in _identifiers("MS", 1)


# --- Mark Used -----------------------------------------------------------------------------


def test_mark_used_takes_hibc_and_digital_link_labels(client, world, hibc_product):
    case = world.event("case")
    (hibc_device,) = world.devices(1, product=hibc_product)
    (gs1_device,) = world.devices(1)
    client.force_login(world.rep)
    url = reverse("events:scan", args=[case.pk])
    for label, device in [(hibc_label(hibc_device), hibc_device),
                          (digital_link(gs1_device), gs1_device)]:
        html = client.post(url, {"label": label + "\r\n"},
                           headers={"HX-Request": "true"}).content.decode()
        assert f"Scanned and added {device.label}" in html
    assert set(EventLine.objects.filter(event=case).values_list("device_id", flat=True)) == {
        hibc_device.pk, gs1_device.pk}


@pytest.mark.parametrize("label, words", [
    ("+A123BJC5D6E71H", "check character is wrong"),
    ("+A123BJC5D6E71G", "Unknown HIBC product +A123BJC5D6E71"),
    ("=/A9999XYZ100T0944=,000025", "ISBT 128 labels are not supported yet"),
    ("https://id.gs1.org/01/00000000000017/21/X", "Unknown GTIN 00000000000017"),
])
def test_mark_used_names_what_is_wrong_with_a_label(client, world, label, words):
    case = world.event("case")
    client.force_login(world.rep)
    html = client.post(reverse("events:scan", args=[case.pk]), {"label": label},
                       headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="scan-error"' in html and words in html
    assert not case.lines.exists()


def test_mark_used_hibc_serial_not_in_inventory(client, world, hibc_product):
    case = world.event("case")
    client.force_login(world.rep)
    text = hibc_text("H703", "PS6540", 0, None, "", "NOPE-1")
    html = client.post(reverse("events:scan", args=[case.pk]), {"label": text},
                       headers={"HX-Request": "true"}).content.decode()
    assert "No device SN NOPE-1 with HIBC +H703PS65400 is in your inventory." in html


# --- Receiving -----------------------------------------------------------------------------


def test_receiving_scans_hibc_and_digital_link_labels(client, world, hibc_product,
                                                      django_assert_max_num_queries):
    url = reverse("inventory:receiving_scan")
    expiry = in_days(300)
    labels = [hibc_text("H703", "PS6540", 0, expiry, "L-H", f"H{i}") for i in range(3)]
    labels.append(f"https://id.gs1.org/01/{world.product.gtin}/10/L-G/21/G1"
                  f"?17={expiry:%y%m%d}")
    client.force_login(world.admin)
    state = ""
    for label in labels:
        response = client.post(url, {"labels": state, "label": label, "action": "add"})
        assert not response.context["label_errors"], response.context["label_errors"]
        state = response.context["labels_text"]
    # The preview of the list costs the same few queries however many labels it holds.
    with django_assert_max_num_queries(12):
        response = client.post(url, {"labels": state, "label": "", "action": "add"})
    assert "Receive 4 devices" in response.content.decode()
    bad = "+H703PS65400/$$7L-H/SH9X"
    response = client.post(url, {"labels": state, "label": bad, "action": "add"})
    assert "check character is wrong" in response.content.decode()
    response = client.post(url, {"labels": state, "action": "receive",
                                 "custodian": world.rep.pk}, follow=True)
    assert "Received 4 devices" in response.content.decode()
    assert sorted(Device.objects.filter(product=hibc_product).values_list("serial", flat=True)
                  ) == ["H0", "H1", "H2"]
    assert Device.objects.get(serial="G1").product == world.product
    assert Device.objects.get(serial="H0").expiration_date == expiry


def test_a_receiving_file_names_products_by_gtin_or_hibc_code(world, hibc_product):
    exp = in_days(365).isoformat()
    text = ("gtin,lot,serial,expiration_date,custodian\n"
            f"+H703PS65400,L1,H-1,{exp},{world.rep.username}\n"
            f"{world.product.gtin},L1,G-1,{exp},{world.rep.username}\n")
    result = devices_import(actor=world.admin, rows=read_csv(text))
    assert result.devices == 2
    assert Device.objects.get(serial="H-1").product == hibc_product
    bad = ("gtin,lot,serial,expiration_date,custodian\n"
           f"+H703PS65400,L1,H-1,{exp},{world.rep.username}\n"
           f"+H703OTHER0,L1,H-2,{exp},{world.rep.username}\n")
    with pytest.raises(ValidationError) as caught:
        devices_import(actor=world.admin, rows=read_csv(bad))
    assert caught.value.messages == [
        "Row 2: serial H-1 of HIBC product +H703PS65400 was already received.",
        "Row 3: unknown HIBC product +H703OTHER0 (not in your catalogue).",
    ]


# --- Adjustments, device search, recall trace ----------------------------------------------


def test_adjustments_take_hibc_labels_and_name_a_bad_one(client, world, hibc_product):
    (device,) = world.devices(1, product=hibc_product)
    client.force_login(world.admin)
    url = reverse("inventory:adjustment_create")
    response = client.post(url, {"devices": "+A123BJC5D6E71H\n", "reason": "lost",
                                 "effect": "remove"})
    assert "Line 1: The HIBC label&#x27;s check character is wrong" in response.content.decode()
    client.post(url, {"devices": hibc_label(device) + "\n", "reason": "lost", "effect": "remove"})
    device.refresh_from_db()
    assert device.status == DeviceStatus.REMOVED


def test_device_search_finds_a_device_by_its_hibc_label(client, world, hibc_product):
    device, other = world.devices(2, product=hibc_product)
    client.force_login(world.admin)
    html = client.get(reverse("inventory:device_search"),
                      {"q": hibc_label(device)}).content.decode()
    assert device.serial in html and other.serial not in html


def test_recall_trace_by_hibc_label_or_code(client, world, hibc_product):
    world.devices(2, product=hibc_product, lot="R-1")
    world.devices(1, product=hibc_product, lot="R-2")
    world.devices(1, lot="R-1")
    client.force_login(world.manager)
    url = reverse("inventory:recall_trace")
    label = hibc_text("H703", "PS6540", 0, None, "R-1", None)
    assert client.get(url, {"label": label}).context["page"].paginator.count == 2
    assert client.get(url, {"gtin": "+H703PS65400"}).context["page"].paginator.count == 3
    html = client.get(url, {"gtin": "+H703NOPE0"}).content.decode()
    assert "Unknown HIBC product +H703NOPE0" in html
    html = client.get(url, {"label": "+H703NOPE0" + hibc_check_character("+H703NOPE0")}
                      ).content.decode()
    assert "Unknown HIBC product +H703NOPE0" in html


def test_the_camera_is_allowed_for_our_own_origin_and_every_scan_box_offers_it(client, world):
    client.force_login(world.admin)
    for name in ("inventory:receiving_scan", "inventory:adjustment_create"):
        response = client.get(reverse(name))
        assert "camera=(self)" in response["Permissions-Policy"]
        assert 'data-scan-camera="' in response.content.decode()
    case = world.event("case")
    html = client.get(reverse("events:detail", args=[case.pk]) + "?tab=used").content.decode()
    assert 'id="id_scan"' in html and 'data-scan-camera="submit"' in html
    assert "js/scanner" in html and "vendor/zxing/zxing" in html
    client.force_login(world.manager)
    html = client.get(reverse("inventory:recall_trace")).content.decode()
    assert 'data-scan-camera="submit"' in html


def test_the_issues_hibc_label_with_its_space_check_character_and_the_scanners_enter(
        client, world):
    # Issue 30's "+H703420500/$$3271231LOT123" + the check character its data gives: a space,
    # which the scanner's Enter follows. The scan box must not trim it away.
    product = ProductFactory(product_line=world.line, organization=world.org, gtin="",
                             hibc_labeler="H703", hibc_product="42050", hibc_unit=0)
    days = (datetime.date(2027, 12, 31) - timezone.localdate()).days
    (device,) = world.devices(1, product=product, lot="LOT123", expires_in_days=days)
    case = world.event("case")
    client.force_login(world.rep)
    html = client.post(reverse("events:scan", args=[case.pk]),
                       {"label": "+H703420500/$$3271231LOT123 \r\n"},
                       headers={"HX-Request": "true"}).content.decode()
    assert f"Scanned and added {device.label}" in html


def test_transfer_scan_box_names_the_devices_of_a_label(client, world, hibc_product,
                                                        django_assert_max_num_queries):
    device, other = world.devices(2, product=hibc_product)
    theirs = build_world().devices(1)[0]
    client.force_login(world.rep)
    url = reverse("inventory:devices_by_label")
    with django_assert_max_num_queries(6):
        answer = client.get(url, {"q": hibc_label(device)}).json()
    assert answer == {"devices": [{"id": device.pk, "label": device.label}], "message": ""}
    assert client.get(url, {"q": other.serial}).json()["devices"][0]["id"] == other.pk
    assert "check character is wrong" in client.get(url, {"q": "+A123BJC5D6E71H"}).json()[
        "message"]
    answer = client.get(url, {"q": theirs.serial}).json()
    assert answer["devices"] == [] and "No device" in answer["message"]
    html = client.get(reverse("inventory:transfer_create")).content.decode()
    assert 'data-scan-camera="pick"' in html  # a rep transfers from their own stock
