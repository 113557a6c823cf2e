"""Email reps about their events waiting for a purchase order (daily), or admins a summary of
every such event (weekly, ``--admins``). The emails are queued as tasks; the worker sends them.

Run it from cron (see README, "Scheduled jobs"): daily ``manage.py send_po_reminders``, weekly
``manage.py send_po_reminders --admins``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization, User
from billing.ageing import days_since, pending_po_events, reminder_days
from core.tasks import send_email


class Command(BaseCommand):
    help = (
        "Queue the Pending PO reminder emails: to each rep (daily) or, with --admins, the "
        "weekly summary to each organisation's admins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Pretend today is YYYY-MM-DD (default: today).")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Only events older than this many days since the case "
            "(default: the PENDING_PO_REMINDER_DAYS setting).",
        )
        parser.add_argument(
            "--admins",
            action="store_true",
            help="Send the weekly summary to admins instead of the reps' emails.",
        )

    def handle(self, *args, today=None, days=None, admins=False, **options):
        if today:
            try:
                today = datetime.date.fromisoformat(today)
            except ValueError as exc:
                raise CommandError("--today must be YYYY-MM-DD.") from exc
        else:
            today = timezone.localdate()
        days = reminder_days() if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        queued = 0
        for org in Organization.objects.order_by("pk"):
            events = list(
                pending_po_events(organization_id=org.pk, older_than=days, today=today, sort="days")
            )
            if not events:
                continue
            for event in events:
                event.days = days_since(event, today)
            if admins:
                readers = (
                    User.objects.filter(organization=org, role=User.Role.ADMIN, is_active=True)
                    .exclude(email="")
                    .order_by("pk")
                )
                groups = [(reader, events) for reader in readers]
            else:
                by_rep: dict[int, tuple[User, list]] = {}
                for event in events:
                    rep = event.representative
                    if rep.is_active and rep.email:
                        by_rep.setdefault(rep.pk, (rep, []))[1].append(event)
                groups = list(by_rep.values())
            for reader, own in groups:
                amount = sum((e.amount or Decimal("0.00") for e in own), Decimal("0.00"))
                body = render_to_string(
                    "billing/pending_po_email.txt",
                    {
                        "recipient": reader,
                        "events": own,
                        "days": days,
                        "today": today,
                        "amount": amount,
                        "currency": org.currency,
                        "summary": admins,
                    },
                )
                count = len(own)
                subject = (
                    f"Pending PO summary: {count} event{'s' if count != 1 else ''} "
                    f"waiting more than {days} days"
                    if admins
                    else f"Pending PO: {count} event{'s' if count != 1 else ''} of yours "
                    f"waiting more than {days} days"
                )
                send_email.enqueue(subject=subject, body=body, to=[reader.email])
                queued += 1
        self.stdout.write(f"Queued {queued} pending PO email(s) for the worker to send.")
