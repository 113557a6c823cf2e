"""Unlock a login from a shell: for an admin locked out of the app and the admin alike."""

from django.core.management.base import BaseCommand, CommandError

from accounts.lockout import unlock


class Command(BaseCommand):
    help = ("Clear the failed logins of USERNAME (from every address), or of an address with "
            "--address, so the lock ends now.")

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="the username to unlock")
        parser.add_argument("--address", help="unlock this network address (all usernames)")

    def handle(self, *args, username=None, address=None, **options):
        if not username and not address:
            raise CommandError("Name a username to unlock, or --address ADDRESS.")
        count = unlock(username=username or None, address=address or None)
        what = " and ".join(
            part for part in (f"username {username!r}" if username else "",
                              f"address {address}" if address else "") if part)
        self.stdout.write(f"Unlocked {what}: {count} failed-login record(s) cleared.")
