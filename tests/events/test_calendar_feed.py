"""The agenda's iCalendar feed (issue 25, part 2): a secret URL per user, stored hashed, that a
calendar subscribes to; parsed back here with the icalendar library; a reset secret is refused."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from consignment.services import surgeon_create
from events.models import CalendarFeed
from events.schedule_selectors import feed_token_hash
from events.schedule_services import calendar_feed_reset, case_schedule, procedure_create
from tests.events.conftest import in_days


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def feed_path(token: str) -> str:
    return reverse("events:calendar_feed", args=[token])


def scheduled(world, name, rep, day, hour, **kwargs):
    return case_schedule(
        actor=world.admin,
        name=name,
        scheduled_at=at(day, hour),
        facility=world.st_marys,
        representative=rep,
        manufacturer=world.maker,
        product_line=world.line,
        **kwargs,
    )


def test_the_feed_is_valid_icalendar_with_the_reps_own_cases(client, world):
    lopez = surgeon_create(actor=world.admin, facility=world.st_marys, name="Dr. Maria Lopez")
    fusion = procedure_create(actor=world.admin, name="Lumbar fusion")
    mine = scheduled(
        world, "Case Lopez", world.rep, in_days(1), 7, physician=lopez, procedure=fusion
    )
    scheduled(world, "Bob's case", world.rep2, in_days(1), 9)
    recorded = world.event("case", name="Recorded today", patient_id="PT-SECRET-9")
    token = calendar_feed_reset(actor=world.rep)

    response = client.get(feed_path(token))  # no sign-in: calendars can't
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    entries = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert set(entries) == {"Case Lopez (Lumbar fusion – Dr. Maria Lopez)", "Recorded today"}
    entry = entries["Case Lopez (Lumbar fusion – Dr. Maria Lopez)"]
    assert entry.decoded("dtstart") == mine.scheduled_at
    assert entry.decoded("dtend") - entry.decoded("dtstart") == datetime.timedelta(hours=2)
    assert str(entry["location"]) == "St. Mary's"
    assert str(entry["uid"]).startswith(f"case-{mine.pk}@")
    all_day = entries["Recorded today"]
    assert all_day.decoded("dtstart") == recorded.date  # no time: an all-day entry
    assert b"PT-SECRET-9" not in response.content  # no patient ID leaves in a calendar


def test_an_admins_feed_has_the_organisations_cases(client, world):
    scheduled(world, "Ann's", world.rep, in_days(2), 8)
    scheduled(world, "Bob's", world.rep2, in_days(3), 8)
    token = calendar_feed_reset(actor=world.admin)
    calendar = Calendar.from_ical(client.get(feed_path(token)).content)
    assert sorted(str(e["summary"]) for e in calendar.walk("VEVENT")) == ["Ann's", "Bob's"]


def test_the_secret_is_stored_hashed_and_a_reset_secret_is_refused(client, world):
    first = calendar_feed_reset(actor=world.rep)
    stored = CalendarFeed.objects.get(user=world.rep).token_hash
    assert stored == feed_token_hash(first) and first not in stored
    assert client.get(feed_path(first)).status_code == 200
    second = calendar_feed_reset(actor=world.rep)
    assert second != first
    assert client.get(feed_path(first)).status_code == 404
    assert client.get(feed_path(second)).status_code == 200
    assert client.get(feed_path("not-a-secret")).status_code == 404
    world.rep.is_active = False
    world.rep.save()
    assert client.get(feed_path(second)).status_code == 404  # a departed rep's feed stops


def test_the_feed_page_shows_the_new_link_once(client, world):
    client.force_login(world.manager)
    page = client.get(reverse("events:calendar_feed_settings")).content.decode()
    assert "Make my calendar link" in page and 'data-testid="feed-url"' not in page
    response = client.post(reverse("events:calendar_feed_settings"))
    url = response.context["feed_url"]
    assert url.startswith("http://testserver/events/calendar/") and url.endswith(".ics")
    token = url.rsplit("/", 1)[1][:-4]
    assert CalendarFeed.objects.get(user=world.manager).token_hash == feed_token_hash(token)
    again = client.get(reverse("events:calendar_feed_settings")).content.decode()
    assert token not in again and "Reset the link" in again
