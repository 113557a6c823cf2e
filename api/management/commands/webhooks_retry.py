from django.core.management.base import BaseCommand

from api.webhooks import webhook_attempt, webhooks_due


class Command(BaseCommand):
    help = ("Attempt every webhook delivery whose retry is due (the worker does this by itself; "
            "run it where tasks cannot be deferred).")

    def handle(self, *args, **options):
        due = webhooks_due()
        for pk in due:
            webhook_attempt(pk)
        self.stdout.write(f"{len(due)} deliveries attempted.")
