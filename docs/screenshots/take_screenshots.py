"""Refresh the screenshots in docs/screenshots/ from the demo data, at 1280 px and 390 px.

    DEBUG=1 .venv/bin/python manage.py seed_demo           # once
    DEBUG=1 .venv/bin/python manage.py runserver 8000 &     # the app with the demo data
    DEBUG=1 .venv/bin/python docs/screenshots/take_screenshots.py http://127.0.0.1:8000
    DEBUG=1 .venv/bin/python docs/screenshots/take_screenshots.py http://127.0.0.1:8000 home billing
                                                      # only the pictures whose names hold a word

Uses the same DATABASE_URL as the server to find the pages to show (a stocking order with its
billing under way, a facility where a rep's stock was sold and used, a recalled lot), then drives
Debian's Chromium with Playwright. Look at every picture after refreshing them.
"""

import os
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from playwright.sync_api import sync_playwright  # noqa: E402

from demo.seed import DEMO_PASSWORD  # noqa: E402
from events.models import Event, EventStatus  # noqa: E402
from inventory.models import Device, DeviceStatus  # noqa: E402

HERE = Path(__file__).resolve().parent
WIDTHS = {"1280": 1280, "phone": 390}


def pages() -> list[tuple[str, str, str]]:
    """(picture name, user, path) for every screen the issue asks to see."""
    mine = Event.objects.filter(event_type="stocking_order", representative__username="rep1")
    order = (mine.filter(status=EventStatus.READY_TO_INVOICE).first()
             or mine.exclude(status=EventStatus.DRAFT).first())
    used = Device.objects.filter(
        status=DeviceStatus.CONSUMED, sold_on__representative__username="rep1",
        used_in__facility_stock_only=True,
    ).first()
    facility_id = used.facility_id if used else ""
    recall = Device.objects.filter(status=DeviceStatus.CONSUMED,
                                   used_in__facility_stock_only=True).select_related(
        "product__product_line").first()
    draft = Event.objects.filter(representative__username="rep1", status=EventStatus.DRAFT,
                                 event_type="case").order_by("-pk").first()
    return [
        ("home-rep", "rep1", "/"),
        ("home-admin", "admin", "/"),
        *([("mark-used-search", "rep1", f"/events/{draft.pk}/?tab=used&q=AO")]
          if draft else []),
        ("event-page", "rep1", f"/events/{order.pk}/?tab=used"),
        ("all-inventory-rep-deactivated", "rep1",
         f"/inventory/?status=facility_stock&facility={facility_id}&show_deactivated=on"),
        ("dashboard", "manager", "/reports/"),
        ("recall-trace", "admin", f"/inventory/recall/?manufacturer="
         f"{recall.product.product_line.manufacturer_id}&lot={recall.lot}"),
        ("billing-queue", "admin", "/events/billing/"),
        ("events-list", "admin", "/events/"),
        ("all-inventory-admin", "admin", "/inventory/?sort=custodian"),
        ("error-403", "manager", "/events/new/"),
    ]


def main(base: str, only: list[str]) -> None:
    shots = [shot for shot in pages()  # the database first: Playwright's sync API runs a loop
             if not only or any(word in shot[0] for word in only)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        for suffix, width in WIDTHS.items():
            for name, user, path in shots:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                page.goto(f"{base}/accounts/login/")
                page.get_by_label("Username").fill(user)
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_load_state()
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                target = HERE / f"{name}-{suffix}.png"
                page.screenshot(path=str(target), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth") - width
                print(f"{target.name}: {'fits' if overflow <= 0 else f'{overflow}px too wide'}")
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000", sys.argv[2:])
