"""Load the scale data set (up to a million devices) on top of the demo data. DEBUG only.

Rows are loaded with PostgreSQL's COPY, every constraint live, then ANALYZE.
"""

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
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, devices: int, no_progress: bool, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_scale refuses to run with DEBUG off: it is for development databases only."
            )
        if devices < 1000:
            raise CommandError("--devices must be at least 1000.")
        started = time.monotonic()
        summary = seed_scale(devices=devices, progress=not no_progress, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(
            f"Scale data ready in {time.monotonic() - started:.0f} s."))
        for line in summary:
            self.stdout.write(f"  {line}")
        self.stdout.write("Demo logins (admin, manager, rep1…) are unchanged; password "
                          "fieldstock-demo.")
