"""The phone's camera as the scanner: Chromium is given a fake camera whose picture is a
DataMatrix this test renders (zxing-cpp), at 390 px, and the device it names is added to a case.

Chromium has no BarcodeDetector on Linux, so this exercises the vendored ZXing decoder.
"""

import os
from pathlib import Path

import pytest
import zxingcpp
from playwright.sync_api import expect

from events.models import EventLine
from inventory.labels import GS, gs1_hri
from inventory.udi import udi_raw
from tests.e2e.conftest import CHROMIUM_ARGS, login
from tests.factories import (
    PASSWORD,
    AdminFactory,
    FacilityFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
    make_event,
    receive,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 640, 480


def fake_camera_video(text: str, path: Path) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of a DataMatrix holding ``text``, black
    on white in the middle of the picture, as a label held in front of a phone."""
    image = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix).to_image(scale=1)
    rows, cols = image.shape
    pixels = bytes(memoryview(image))
    scale = min(WIDTH, HEIGHT) * 3 // 5 // max(rows, cols)
    top, left = (HEIGHT - rows * scale) // 2, (WIDTH - cols * scale) // 2
    luma = bytearray(b"\xeb" * (WIDTH * HEIGHT))  # white (video range)
    for r in range(rows):
        line = bytearray()
        for c in range(cols):
            line += (b"\x10" if pixels[r * cols + c] < 128 else b"\xeb") * scale
        for dy in range(scale):
            start = (top + r * scale + dy) * WIDTH + left
            luma[start:start + len(line)] = line
    chroma = b"\x80" * (WIDTH // 2 * HEIGHT // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode()
                     + frame * 10)
    return path


@pytest.fixture
def camera_page(playwright, live_server, tmp_path):
    """A phone-sized page whose camera shows the video ``camera_page(text)`` renders."""
    opened = []

    def open_page(text: str):
        video = fake_camera_video(text, tmp_path / "label.y4m")
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={video}"],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      is_mobile=True, has_touch=True)
        context.grant_permissions(["camera"], origin=live_server.url)
        opened.append(browser)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield open_page
    for browser in opened:
        browser.close()


def _case_world():
    line = ProductLineFactory(name="Spine – Pedicle Screws", manufacturer__name="Acme Spine")
    org = line.organization
    admin = AdminFactory(organization=org)
    rep = UserFactory(organization=org, username="rep1")
    facility = FacilityFactory(organization=org, name="St. Mary's Regional Medical Center")
    case = make_event(actor=rep, representative=rep, facility=facility, product_line=line,
                      event_type="case", name="Lumbar fusion L4-L5", patient_id="PT-20931",
                      surgeon="Dr. Okafor")
    return line, org, admin, rep, case


def test_a_hibc_datamatrix_seen_by_the_camera_adds_the_device_to_a_case(
        camera_page, live_server, tmp_path):
    line, org, admin, rep, case = _case_world()
    # A product known only by its HIBC identifier (no GTIN), as many implant makers label.
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6540", gtin="",
                           hibc_labeler="H703", hibc_product="PS6540", hibc_unit=0,
                           description="Polyaxial pedicle screw 6.5 x 40 mm")
    device, other = receive(custodian=rep, product=screw, lot="L24A-00917", actor=admin,
                            serials=["SN-2026-00001", "SN-2026-00002"])
    label = device.build_udi()
    assert label.startswith("+H703PS65400/$$3")  # HIBC, printed the way this app prints it

    page = camera_page(label)
    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/events/{case.pk}/?tab=used")
    button = page.get_by_role("button", name="Scan with camera")
    expect(button).to_have_count(1)
    button.click()
    status = page.get_by_test_id("camera-status")
    expect(status).to_be_visible()
    # The camera fills the phone's screen, over the page.
    box = page.get_by_role("dialog", name="Scan with camera").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    expect(page.get_by_test_id("panel-notice")).to_contain_text(
        "Scanned and added SN SN-2026-00001", timeout=60_000)
    # Kept scanning: the camera panel reports what the server said, and stays open.
    expect(status).to_contain_text("SN-2026-00001")
    assert_fits(page)
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["SCREENSHOT_DIR"]) / "camera-scan-phone.png"))
    page.screenshot(path=str(tmp_path / "camera-scan-phone.png"))
    page.get_by_role("button", name="Done").click()
    expect(status).to_have_count(0)
    assert list(EventLine.objects.filter(event=case).values_list("device__serial", flat=True)) \
        == ["SN-2026-00001"]
    assert not EventLine.objects.filter(device=other).exists()


def test_a_gs1_datamatrix_with_gs_separators_is_typed_as_a_scanner_would(
        camera_page, live_server):
    line, org, admin, rep, case = _case_world()
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6545")
    (device,) = receive(custodian=rep, product=screw, lot="L24A-00918", actor=admin,
                        serials=["SN-2026-00003"])
    raw = udi_raw(screw.gtin, device.expiration_date, device.lot, device.serial)
    assert GS in raw and raw != gs1_hri(screw.gtin, device.expiration_date, device.lot,
                                        device.serial)
    page = camera_page(raw)
    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/events/{case.pk}/?tab=used")
    page.get_by_role("button", name="Scan with camera").click()
    expect(page.get_by_test_id("panel-notice")).to_contain_text(
        "Scanned and added SN SN-2026-00003", timeout=60_000)
    page.get_by_role("button", name="Done").click()
    assert EventLine.objects.filter(event=case, device=device).exists()


def assert_fits(page):
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-responsive'))
        .map(e => e.tagName + '.' + e.className)""")
    assert wide == []


def test_a_transfer_picks_the_device_a_scanned_hibc_label_names(page, live_server):
    line, org, admin, rep, case = _case_world()
    screw = ProductFactory(product_line=line, organization=org, reference="PS-6550", gtin="",
                           hibc_labeler="H703", hibc_product="PS6550", hibc_unit=0)
    first, second = receive(custodian=rep, product=screw, lot="L-T", actor=admin,
                            serials=["SN-T-1", "SN-T-2"])
    UserFactory(organization=org, username="rep2", first_name="Sam", last_name="Two")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "rep1", PASSWORD)
    page.goto(f"{live_server.url}/inventory/transfers/new/")
    box = page.get_by_label("Scan a label to select its device")
    box.fill(second.build_udi())  # a handheld scanner types the label, then Enter
    box.press("Enter")
    expect(page.get_by_test_id("transfer-scan-status")).to_have_text("Selected SN SN-T-2.")
    expect(page.get_by_role("checkbox", name="SN-T-2")).to_be_checked()
    expect(page.get_by_role("checkbox", name="SN-T-1")).not_to_be_checked()
    box.fill("+A123BJC5D6E71H")
    box.press("Enter")
    expect(page.get_by_test_id("transfer-scan-status")).to_contain_text(
        "check character is wrong")
    expect(page.get_by_role("button", name="Scan with camera")).to_be_visible()
    assert_fits(page)
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=str(Path(shots) / "transfer-scan-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(Path(shots) / "transfer-scan-desktop.png"))
