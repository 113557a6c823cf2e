"""Background tasks every app may use."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.tasks import task


@task
def send_email(*, subject: str, body: str, to: list[str]) -> int:
    """Send one plain-text email (the worker does it; a request or a cron job only enqueues)."""
    return EmailMessage(subject=subject, body=body, to=to).send()

