"""Receive devices from a CSV file: all rows or none.

    manage.py import_devices FILE [--dry-run] [--actor USERNAME] [--no-progress]

Format: UTF-8, header row ``gtin,lot,serial,expiration_date,custodian`` (YYYY-MM-DD; custodian is
a username). Every problem is printed with its row number and the command exits non-zero.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import User
from inventory.importing import ImportRefused, devices_import, read_csv


class Command(BaseCommand):
    help = "Receive devices from a CSV file (gtin,lot,serial,expiration_date,custodian)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Validate every row and write nothing.")
        parser.add_argument("--actor", help="Username of the admin doing the receipt "
                            "(default: the only active admin, if there is one).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, file: str, dry_run: bool, actor: str | None, no_progress: bool,
               **options):
        actor_user = self._actor(actor)
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")

        def progress(items, desc):
            unit = "row" if desc == "Validating" else "batch"
            return tqdm(items, desc=desc, unit=unit, disable=no_progress)

        try:
            rows = list(read_csv(path.read_bytes()))
            result = devices_import(actor=actor_user, rows=rows, dry_run=dry_run,
                                    progress=progress)
        except ImportRefused as exc:
            for error in exc.row_errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"File refused: {len(exc.row_errors)} problem(s); nothing was imported."
            ) from exc
        if result.dry_run:
            self.stdout.write(self.style.SUCCESS(
                f"Dry run: {result.rows} row(s) are valid ({result.groups} receipt group(s)); "
                "nothing was written."
            ))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Received {result.devices} device{'' if result.devices == 1 else 's'} in "
                f"{result.groups} group{'' if result.groups == 1 else 's'}."
            ))

    def _actor(self, username: str | None) -> User:
        admins = User.objects.filter(role=User.Role.ADMIN, is_active=True,
                                     organization__isnull=False)
        if username:
            user = admins.filter(username=username).first()
            if user is None:
                raise CommandError(f"{username} is not an active admin of an organisation.")
            return user
        found = list(admins[:2])
        if len(found) != 1:
            raise CommandError("Pass --actor USERNAME: the admin who receives the devices.")
        return found[0]
