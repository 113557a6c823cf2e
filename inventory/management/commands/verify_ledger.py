"""Check the device movement ledger (exit status 1 on any problem): the HMAC chain of every
organisation, device and kit movements (forged, altered, reordered, deleted rows), then a replay
of each device's movements against the lifecycle's transition table (inventory/lifecycle.py)
and the device's state.
"""

import sys

from django.core.management.base import BaseCommand

from accounts.models import Organization
from inventory.ledger import chain_problems, key_id, key_source, ledger_key
from inventory.selectors import ledger_discrepancies


class Command(BaseCommand):
    help = (
        "Check the movement ledger's HMAC chain and report forged, altered, reordered or deleted "
        "movements, then every device with a movement outside the lifecycle's transition table "
        "or a state that differs from its movements."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organisation (by name).")

    def handle(self, *args, organization=None, **options):
        org_id = None
        if organization:
            org_id = Organization.objects.get(name=organization).pk
        count = 0
        self.stdout.write(f"Ledger key {key_id(ledger_key())} ({key_source()}).")
        for problem in chain_problems(organization_id=org_id):
            count += 1
            self.stdout.write(
                f"organisation {problem.organization_id} {problem.where}: {problem.problem}")
        for discrepancy in ledger_discrepancies(organization_id=org_id):
            count += 1
            self.stdout.write(
                f"device #{discrepancy.device_id} {discrepancy.label}: {discrepancy.problem}"
            )
        if count:
            self.stderr.write(self.style.ERROR(f"{count} discrepancies found."))
            sys.exit(1)
        self.stdout.write(
            self.style.SUCCESS(
                "Ledger verified: the chain is intact and every device matches its movements."
            )
        )
