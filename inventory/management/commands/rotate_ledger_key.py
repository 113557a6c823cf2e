"""Move the ledger's HMAC chain to a new key, recorded in the chain (inventory.ledger.rotate_key).

Run it with the NEW key configured (LEDGER_KEY, or the new SECRET_KEY it is derived from) and
the OLD one in an environment variable named by --old-key-env (a LEDGER_KEY value) or
--old-secret-key-env (a SECRET_KEY the old ledger key was derived from); secrets never go on the
command line. Each organisation's chain must verify with the old key first.
"""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from inventory.ledger import derived_ledger_key, key_id, key_source, ledger_key, rotate_key
from inventory.models import LedgerChainHead


class Command(BaseCommand):
    help = ("Rotate the ledger key: verify each organisation's chain with the old key, then "
            "record a rotation signed with the new (configured) key so the chain continues.")

    def add_arguments(self, parser):
        old = parser.add_mutually_exclusive_group(required=True)
        old.add_argument("--old-key-env", metavar="VAR",
                         help="environment variable holding the old LEDGER_KEY")
        old.add_argument("--old-secret-key-env", metavar="VAR",
                         help="environment variable holding the old SECRET_KEY (the old ledger "
                              "key was derived from it)")
        parser.add_argument("--organization", help="only this organisation (by name)")

    def handle(self, *args, old_key_env=None, old_secret_key_env=None, organization=None,
               **options):
        variable = old_key_env or old_secret_key_env
        secret = os.environ.get(variable, "")
        if not secret:
            raise CommandError(f"The environment variable {variable} is empty or unset.")
        old_key = secret.encode() if old_key_env else derived_ledger_key(secret)
        new_key = ledger_key()
        if key_id(old_key) == key_id(new_key):
            raise CommandError(f"The old and the new key are the same ({key_id(new_key)}).")
        heads = LedgerChainHead.objects.order_by("organization_id")
        if organization:
            try:
                heads = heads.filter(organization_id=Organization.objects.get(
                    name=organization).pk)
            except Organization.DoesNotExist:
                raise CommandError(f"No organisation named {organization!r}.") from None
        self.stdout.write(f"New key {key_id(new_key)} ({key_source()}); old key "
                          f"{key_id(old_key)}.")
        failed = 0
        for org_id in heads.values_list("organization_id", flat=True):
            try:
                rotation = rotate_key(organization_id=org_id, old_key=old_key, new_key=new_key)
            except ValidationError as error:
                failed += 1
                self.stderr.write(f"organisation {org_id}: not rotated: {error.messages[0]}")
                continue
            if rotation is None:
                self.stdout.write(f"organisation {org_id}: already signed with "
                                  f"{key_id(new_key)}")
            else:
                self.stdout.write(f"organisation {org_id}: rotated {rotation.old_key_id} → "
                                  f"{rotation.new_key_id} after movement #{rotation.after_seq}")
        if failed:
            raise CommandError(f"{failed} organisation(s) not rotated.")
