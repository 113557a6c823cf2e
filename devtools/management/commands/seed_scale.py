"""Load the scale data set on top of the demo data. DEBUG only.

Rows are loaded with PostgreSQL's COPY, every constraint live, then VACUUM ANALYZE. Without
``--organisations``: ten organisations, one process (the data set of docs/benchmarks.md's runs up
to session 7). With it (``--devices 10000000 --organisations 100``): that many organisations of
skewed sizes (the demo organisation 20 %), seeded by ``--workers`` processes side by side.
"""

import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.scale import seed_scale


class Command(BaseCommand):
    help = "Load the scale data set (DEBUG only): demo data plus N devices."

    def add_arguments(self, parser):
        parser.add_argument(
            "--devices", type=int, default=1_000_000, help="How many devices to add."
        )
        parser.add_argument(
            "--organisations", type=int, default=None,
            help="How many organisations (at least 2): the demo one holds 20 %%, the k-th of the "
                 "others a share in proportion to 1/k. Default: today's ten (42 %% demo).")
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1,
            help="Processes seeding organisations side by side (with --organisations). "
                 "Default: one per CPU.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, devices: int, no_progress: bool, organisations: int | None,
               workers: int, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_scale refuses to run with DEBUG off: it is for development databases only."
            )
        if devices < 1000:
            raise CommandError("--devices must be at least 1000.")
        if organisations is not None and not 2 <= organisations <= devices // 100:
            raise CommandError("--organisations must be at least 2 and at most one per 100 "
                               "devices.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        started = time.monotonic()
        summary = seed_scale(devices=devices, progress=not no_progress, stdout=self.stdout,
                             organisations=organisations, workers=workers)
        self.stdout.write(self.style.SUCCESS(
            f"Scale data ready in {time.monotonic() - started:.0f} s."))
        for line in summary:
            self.stdout.write(f"  {line}")
        self.stdout.write("Demo logins (admin, manager, rep1…) are unchanged; password "
                          "fieldstock-demo.")
