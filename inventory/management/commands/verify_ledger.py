"""Check the device movement ledger (exit status 1 on any problem): the HMAC chain of every
organisation, device and kit movements (forged, altered, reordered, deleted rows), then a replay
of each device's movements against the lifecycle's transition table (inventory/lifecycle.py)
and the device's state.

Each organisation's chain and its replay are separate checks; with ``--workers`` above 1 they run
in that many processes side by side, the largest organisations first, and the report lists them
in organisation order whichever finished first. The default stays one process: on the shared
2-core machine of docs/benchmarks.md (session 8) two workers were slower than one at 1M devices.
"""

import multiprocessing
import os
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.db.models import Count

from accounts.models import Organization
from inventory.ledger import chain_problems, key_id, key_source, ledger_key
from inventory.models import DeviceMovement
from inventory.selectors import ledger_discrepancies

CHAIN, REPLAY = "chain", "replay"


def _check(job: tuple[str, int | None]) -> tuple[str, int | None, list[str]]:
    """One check of one organisation (None: all of them): its report lines."""
    kind, org_id = job
    if kind == CHAIN:
        lines = [f"organisation {problem.organization_id} {problem.where}: {problem.problem}"
                 for problem in chain_problems(organization_id=org_id)]
    else:
        lines = [f"device #{d.device_id} {d.label}: {d.problem}"
                 for d in ledger_discrepancies(organization_id=org_id)]
    return kind, org_id, lines


def _check_in_worker(job):
    try:
        return _check(job)
    finally:
        connection.close()


class Command(BaseCommand):
    help = (
        "Check the movement ledger's HMAC chain and report forged, altered, reordered or deleted "
        "movements, then every device with a movement outside the lifecycle's transition table "
        "or a state that differs from its movements."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organisation (by name).")
        parser.add_argument(
            "--workers", type=int, default=1,
            help="Processes checking organisations side by side (default 1: all in this "
                 f"process; this machine has {os.cpu_count()} CPUs).")

    def handle(self, *args, organization=None, workers=1, **options):
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        started = time.monotonic()
        org_id = None
        if organization:
            org_id = Organization.objects.get(name=organization).pk
        self.stdout.write(f"Ledger key {key_id(ledger_key())} ({key_source()}).")
        # Workers read committed rows only: inside a transaction (tests) check in-process.
        parallel = workers > 1 and org_id is None and not connection.in_atomic_block
        if parallel:
            results = self._parallel(workers)
        else:
            results = [_check((CHAIN, org_id)), _check((REPLAY, org_id))]
        count = 0
        for kind in (CHAIN, REPLAY):
            for _, _, lines in sorted((r for r in results if r[0] == kind),
                                      key=lambda r: r[1] or 0):
                for line in lines:
                    count += 1
                    self.stdout.write(line)
        if count:
            self.stderr.write(self.style.ERROR(f"{count} discrepancies found."))
            sys.exit(1)
        self.stdout.write(
            self.style.SUCCESS(
                "Ledger verified: the chain is intact and every device matches its movements."
            )
        )
        if parallel:
            self.stdout.write(f"({len(results) // 2} organisations, {workers} workers, "
                              f"{time.monotonic() - started:.0f} s)")

    def _parallel(self, workers: int) -> list:
        """Every organisation's two checks, the largest organisations first."""
        sizes = dict(DeviceMovement.objects.values_list("organization_id")
                     .annotate(n=Count("pk")).order_by())
        orgs = sorted(Organization.objects.values_list("pk", flat=True),
                      key=lambda pk: -sizes.get(pk, 0))
        jobs = [(kind, pk) for pk in orgs for kind in (CHAIN, REPLAY)]
        connections.close_all()  # never share the parent's socket with a child
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return list(pool.imap_unordered(_check_in_worker, jobs))
