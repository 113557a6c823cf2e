"""Reads for scheduled cases: the agenda's week, the iCalendar feed's cases and its owner."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import User
from events.models import CalendarFeed, Event, EventStatus, EventType

# The feed carries a month back and half a year ahead (calendars keep what they fetched).
FEED_PAST_DAYS = 31
FEED_AHEAD_DAYS = 183


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of ``day``'s week."""
    return day - datetime.timedelta(days=day.weekday())


def agenda_cases(
    *, user: User, start: datetime.date, end: datetime.date, rep: User | None = None, facility=None
) -> QuerySet:
    """The cases ``user`` sees (a rep's own; the organisation's for admins and managers) dated
    ``start``..``end`` inclusive, cancelled ones left out, by day and time."""
    qs = (
        Event.objects.for_user(user)
        .filter(event_type=EventType.CASE, date__gte=start, date__lte=end)
        .exclude(status=EventStatus.CANCELLED)
        .select_related("facility", "representative", "physician", "procedure")
    )
    if rep is not None:
        qs = qs.filter(representative=rep)
    if facility is not None:
        qs = qs.filter(facility=facility)
    return qs.order_by("date", "scheduled_at", "id")


@dataclass
class AgendaDay:
    day: datetime.date
    cases: list
    is_today: bool


def agenda_week(
    *,
    user: User,
    start: datetime.date,
    today: datetime.date,
    rep: User | None = None,
    facility=None,
) -> list[AgendaDay]:
    """Seven days from ``start``, each with its cases (one query)."""
    end = start + datetime.timedelta(days=6)
    by_day: dict[datetime.date, list] = {}
    for event in agenda_cases(user=user, start=start, end=end, rep=rep, facility=facility):
        by_day.setdefault(event.date, []).append(event)
    days = [start + datetime.timedelta(days=n) for n in range(7)]
    return [AgendaDay(day=d, cases=by_day.get(d, []), is_today=d == today) for d in days]


def feed_token_hash(token: str) -> str:
    """What is stored of a feed's secret: its SHA-256 (the secret itself is shown once)."""
    return hashlib.sha256(token.encode()).hexdigest()


def feed_owner(*, token: str) -> User | None:
    """The active user whose feed secret is ``token`` (None for an unknown or reset secret)."""
    if not token or len(token) > 200:
        return None
    feed = (
        CalendarFeed.objects.filter(token_hash=feed_token_hash(token))
        .select_related("user")
        .first()
    )
    if feed is None or not feed.user.is_active or feed.user.organization_id is None:
        return None
    return feed.user


def feed_cases(*, user: User, today: datetime.date) -> QuerySet:
    return agenda_cases(
        user=user,
        start=today - datetime.timedelta(days=FEED_PAST_DAYS),
        end=today + datetime.timedelta(days=FEED_AHEAD_DAYS),
    )


def has_feed(*, user: User) -> bool:
    return CalendarFeed.objects.filter(user=user).exists()
