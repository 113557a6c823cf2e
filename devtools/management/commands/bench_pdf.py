"""Median time to render a sales order PDF of N lines (default 50) over R runs (default 10), and
how much the process's memory (RSS) grew over those runs after the warm-up.

    manage.py bench_pdf [--runs 10] [--lines 50]

A few hundred runs show a leak per render (``--runs 300 --lines 2``: the task worker's case,
docs/benchmarks.md "Soak"); a handful cannot: the first few dozen renders still warm up (about
+10 MiB, then flat: 135 -> 145 MiB after 40 runs, 147 MiB after 200).

The data (organisation, catalogue, devices, a submitted stocking order) is built through the
services inside a transaction that is rolled back at the end: the command leaves no trace, and
nothing is stored (only the render is timed, as it runs when a document is issued).
"""

import datetime
import gc
import statistics
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from billing.documents import document_render
from billing.submit import event_submit_for_billing
from consignment.models import Facility, FacilityContact
from events.services import event_add_devices, event_create
from inventory.models import Manufacturer, Product, ProductLine
from inventory.services import devices_receive
from inventory.udi import make_gtin


class Rollback(Exception):
    pass


def rss_mib() -> float | None:
    """This process's resident memory in MiB (Linux), after a full collection."""
    gc.collect()
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Command(BaseCommand):
    help = "Report the median time to render an N-line sales order PDF (no data is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=10, help="renders to time (default 10)")
        parser.add_argument("--lines", type=int, default=50, help="lines on the order (default 50)")

    def handle(self, *args, runs: int, lines: int, **options):
        if runs < 1 or lines < 1:
            raise CommandError("--runs and --lines must be at least 1.")
        timings: list[float] = []
        size = 0
        try:
            with transaction.atomic():
                order = self.build(lines)
                document_render(order)  # warm-up: template loading, font parsing
                rss_before = rss_mib()
                for _ in range(runs):
                    start = time.perf_counter()
                    data = document_render(order)
                    timings.append(time.perf_counter() - start)
                size = len(data)
                rss_after = rss_mib()
                raise Rollback
        except Rollback:
            pass
        median = statistics.median(timings)
        self.stdout.write(
            f"sales order with {lines} lines, {runs} runs: median {median * 1000:.0f} ms "
            f"(min {min(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms, "
            f"{size / 1024:.0f} KiB per PDF); data rolled back"
        )
        if rss_before is not None and rss_after is not None:
            self.stdout.write(f"RSS {rss_before:.1f} -> {rss_after:.1f} MiB over the {runs} runs "
                              f"({rss_after - rss_before:+.1f} MiB)")

    def build(self, lines: int):
        stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
        org = Organization.objects.create(name=f"Bench {stamp}")
        admin = User.objects.create(username=f"bench-admin-{stamp}", organization=org,
                                    role=User.Role.ADMIN, first_name="Bench", last_name="Admin")
        rep = User.objects.create(username=f"bench-rep-{stamp}", organization=org,
                                  role=User.Role.REP, first_name="Bench", last_name="Rep")
        maker = Manufacturer.objects.create(organization=org, name="Acme Spine")
        line = ProductLine.objects.create(organization=org, manufacturer=maker,
                                          name="Pedicle Screws")
        facility = Facility.objects.create(
            organization=org, name="St. Mary's Medical Center",
            address="1200 Hospital Way\nSpringfield, IL 62701", account_number="ACC-0042",
        )
        contact = FacilityContact.objects.create(organization=org, facility=facility,
                                                 name="Dana Buyer", title="Materials manager")
        devices = []
        for i in range(5):
            product = Product.objects.create(
                organization=org, product_line=line, reference=f"PS-65{i:02d}",
                gtin=make_gtin(f"{7612345100000 + i:013d}"),
                description=f"Pedicle screw 6.5 x {40 + 5 * i} mm, polyaxial",
                unit_price=Decimal("850.00") + i * 25,
            )
            count = lines // 5 + (1 if i < lines % 5 else 0)
            if count:
                devices += devices_receive(
                    actor=admin, product=product, lot=f"L24{i:03d}",
                    expiration_date=timezone.localdate() + datetime.timedelta(days=700),
                    serials=[f"SN{stamp[-6:]}{i}{n:03d}" for n in range(count)], custodian=rep,
                )
        event = event_create(
            actor=admin, event_type="stocking_order", name="Bench stocking order",
            date=timezone.localdate(), facility=facility, representative=rep,
            manufacturer=maker, product_line=line, facility_contact=contact,
        )
        event_add_devices(actor=admin, event=event, devices=devices)
        event = event_submit_for_billing(actor=admin, event=event, signature_name="Bench Rep")
        return event.sales_order
