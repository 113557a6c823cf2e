"""bench_pages runs end to end on a small seed_scale data set: every page answers 200, every
table is printed, and the actions leave nothing behind (they are rolled back)."""

import io

import pytest
from django.core.management import call_command

from devtools.scale import seed_scale
from events.models import Event
from inventory.models import Device, DeviceMovement

pytestmark = pytest.mark.django_db


def test_bench_pages_measures_every_page_and_keeps_nothing():
    seed_scale(devices=4000, progress=False, demo_devices=300)
    before = (Device.objects.count(), DeviceMovement.objects.count(), Event.objects.count())
    out = io.StringIO()
    call_command("bench_pages", "--runs", "3", stdout=out)
    report = out.getvalue()

    for heading in ("## Data set", "## Pages (in-process",
                    "### All Inventory's queries through the ORM, no HTML",
                    "Add one device to a draft", "Stock adjustment device search",
                    "CSV writing alone"):
        assert heading in report
    assert "(HTTP " not in report  # every page answered 200
    assert "Yardstick (the login page, signed out): median " in report
    assert "| page | median ms | p95 ms | × yardstick |" in report
    for page in ("| Kits |", "| Kit page |", "| Kit check-in |", "| Kit utilisation |"):
        assert page in report
    pages = [line for line in report.splitlines() if line.startswith("| All Inventory")]
    assert len(pages) == 2 * 10  # each All Inventory page, in the page table and the ORM table
    assert all(line.rstrip(" |").endswith("×") for line in pages)  # each with its ratio
    assert (Device.objects.count(), DeviceMovement.objects.count(),
            Event.objects.count()) == before
