"""Load realistic demo data: two organisations, users, catalogue, facilities, devices, events.

Idempotent: running it again adds nothing that is already there. Devices, transfers, stocking
orders and cases are made through the domain services, so the demo data obeys every rule and the
ledger verifies. Refuses to run unless DEBUG is on (never seed a production database).
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = "Load idempotent demo data (DEBUG only) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--devices", type=int, default=5000, help="Roughly how many devices to receive."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, devices: int, no_progress: bool, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: it is for development databases only."
            )
        summary = seed(devices=devices, progress=not no_progress, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        for line in summary:
            self.stdout.write(f"  {line}")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in [
            ("admin", "admin"), ("manager", "manager"),
            ("regional", "regional manager (North region)"), ("rep1", "rep"), ("rep2", "rep"),
            ("rep3", "rep"), ("other-admin", "admin of the second organisation"),
        ]:
            self.stdout.write(f"  {username:<12} {role}")
        # `make run` passes the HOST and PORT it serves on.
        host, port = os.environ.get("HOST") or "127.0.0.1", os.environ.get("PORT") or "8000"
        self.stdout.write(f"Open http://{host}:{port}/")
        # The ledger's key is the one operator trap of demo data: say which key chained it.
        from inventory.ledger import key_id, key_source, ledger_key

        self.stdout.write(
            f"The device ledger is chained with key {key_id(ledger_key())} ({key_source()}). "
            "Run the app and verify_ledger with the same LEDGER_KEY (or SECRET_KEY); to change "
            "it later, use manage.py rotate_ledger_key.")
