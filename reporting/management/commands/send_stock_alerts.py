"""Email each facility's reps and the organisation's admins a digest of low-stock and expiring
facility stock: one email per person, covering all of their facilities that need attention.
The emails are queued as tasks; the worker sends them."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization, User
from consignment.models import Facility
from core.tasks import send_email
from reporting.selectors.stock import stock_alerts


class Command(BaseCommand):
    help = "Email facility reps and admins a digest of low-stock and expiring facility stock."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Pretend today is YYYY-MM-DD (default: today).")
        parser.add_argument("--days", type=int, default=90,
                            help="Warn about facility stock expiring within this many days.")

    def handle(self, *args, today=None, days=90, **options):
        if today:
            try:
                today = datetime.date.fromisoformat(today)
            except ValueError as exc:
                raise CommandError("--today must be YYYY-MM-DD.") from exc
        else:
            today = timezone.localdate()
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        sent = 0
        for org in Organization.objects.order_by("pk"):
            alerts = stock_alerts(organization_id=org.pk, today=today, days=days)
            if not alerts:
                continue
            facilities = {
                f.pk: f for f in Facility.objects.filter(pk__in=alerts).prefetch_related("reps")
            }
            admins = list(User.objects.filter(organization=org, role=User.Role.ADMIN,
                                              is_active=True).exclude(email=""))
            digests: dict[int, tuple[User, list[int]]] = {}
            for facility in sorted(facilities.values(), key=lambda f: f.name):
                readers = [r for r in facility.reps.all() if r.is_active and r.email] + admins
                for reader in readers:
                    digests.setdefault(reader.pk, (reader, []))[1].append(facility.pk)
            for reader, facility_ids in digests.values():
                body = render_to_string("reporting/stock_alert_email.txt", {
                    "recipient": reader, "today": today, "days": days,
                    "facilities": [{"facility": facilities[pk], **alerts[pk]}
                                   for pk in facility_ids],
                })
                count = len(facility_ids)
                send_email.enqueue(
                    subject=f"Facility stock alerts: {count} "
                            + ("facility needs" if count == 1 else "facilities need")
                            + " attention",
                    body=body, to=[reader.email],
                )
                sent += 1
        self.stdout.write(f"Queued {sent} stock alert email(s) for the worker to send.")
