"""Dates as ranges an index can serve."""

from __future__ import annotations

import datetime

from django.utils import timezone


def day_range(date_from: datetime.date, date_to: datetime.date):
    """[start of date_from, start of the day after date_to) in the current time zone: the same
    days as ``created_at__date`` between them, as a range an index on created_at can serve."""
    tz = timezone.get_current_timezone()
    # Dates at the ends of Python's calendar (forms refuse them; a caller may not) are clamped:
    # the day after 9999-12-31, or a time zone's shift of 0001-01-01, does not exist.
    date_from = min(max(date_from, EARLIEST), LATEST)
    date_to = min(max(date_to, EARLIEST), LATEST)
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=tz)
    return start, end


EARLIEST = datetime.date(2, 1, 1)
LATEST = datetime.date(9998, 12, 30)


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The reports' default period (the reports and the commission statement open on it): the
    last twelve months, from the first day of the month eleven months ago to today."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime.date(year, month, 1), today
