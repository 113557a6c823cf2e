"""Replay the device movement ledger; report devices whose state differs (exit status 1)."""

import sys

from django.core.management.base import BaseCommand

from accounts.models import Organization
from inventory.selectors import ledger_discrepancies


class Command(BaseCommand):
    help = "Replay the movement ledger and report every device whose state differs from it."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organisation (by name).")

    def handle(self, *args, organization=None, **options):
        org_id = None
        if organization:
            org_id = Organization.objects.get(name=organization).pk
        count = 0
        for discrepancy in ledger_discrepancies(organization_id=org_id):
            count += 1
            self.stdout.write(
                f"device #{discrepancy.device_id} {discrepancy.label}: {discrepancy.problem}"
            )
        if count:
            self.stderr.write(self.style.ERROR(f"{count} discrepancies found."))
            sys.exit(1)
        self.stdout.write(
            self.style.SUCCESS("Ledger verified: every device matches its movements.")
        )
