"""Scheduled cases and the agenda: Schedule a case (with "Add New" surgeon and procedure, and
"Copy" from an earlier case), the week's agenda, and the per-user iCalendar feed."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_htmx.http import reswap, retarget, trigger_client_event
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from accounts.decorators import permission_required, public
from consignment.models import Facility, Surgeon
from consignment.services import surgeon_create
from core.forms import add_service_errors
from core.http import int_id
from events import request_selectors, schedule_selectors, schedule_services, selectors
from events.models import Procedure
from events.schedule_forms import AgendaFilterForm, CaseScheduleForm, ProcedureForm, SurgeonForm
from inventory.forms import CHOOSE

OPTIONS = "events/_event_header_fields.html#options"
CASE_LENGTH = datetime.timedelta(hours=2)  # a calendar entry's length (cases have no end time)


def _copy_initial(request, source_pk) -> dict:
    """ "Copy" an earlier case: its header, surgeon and procedure; not its lines, patient or day."""
    source = (
        selectors.event_detail_qs(user=request.user)
        .filter(pk=int_id(source_pk), event_type="case")
        .first()
    )
    if source is None:
        return {}
    initial = {
        "name": source.name,
        "facility": source.facility_id,
        "representative": source.representative_id,
        "facility_contact": source.facility_contact_id,
        "manufacturer": source.manufacturer_id,
        "product_line": source.product_line_id,
        "physician": source.physician_id,
        "procedure": source.procedure_id,
    }
    if source.scheduled_at:
        initial["time"] = timezone.localtime(source.scheduled_at).time()
    return initial


@permission_required("create_events")
def case_schedule(request):
    initial = None if request.method == "POST" else _copy_initial(request, request.GET.get("copy"))
    form = CaseScheduleForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = schedule_services.case_schedule(
                actor=request.user,
                name=data["name"],
                scheduled_at=data["scheduled_at"],
                facility=data["facility"],
                representative=data["representative"],
                manufacturer=data["manufacturer"],
                product_line=data["product_line"],
                physician=data["physician"],
                procedure=data["procedure"],
                facility_contact=data["facility_contact"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"{event} is scheduled for "
                f"{timezone.localtime(event.scheduled_at):%a %d %b %Y, %H:%M}. "
                "It stays a draft until the day.",
            )
            return redirect("events:detail", pk=event.pk)
    return render(request, "events/case_schedule.html", {"form": form, "copying": bool(initial)})


@permission_required("create_events")
@require_GET
def surgeon_options(request):
    """<option>s of the chosen facility's surgeons (Schedule a case, via htmx)."""
    surgeons = Surgeon.objects.for_user(request.user).filter(
        facilities__id=int_id(request.GET.get("facility"))
    )
    return render(
        request,
        OPTIONS,
        {"options": surgeons.order_by("name"), "empty_label": CHOOSE, "selected": None},
    )


def _created(request, options, selected, target: str, label: str):
    response = render(
        request, OPTIONS, {"options": options, "empty_label": CHOOSE, "selected": selected.pk}
    )
    if request.htmx:
        response = retarget(response, target)
        response = reswap(response, "innerHTML")
        response = trigger_client_event(response, "fs:directory-created", {"name": label})
    return response


@permission_required("manage_directories")
def surgeon_add(request):
    """The "Add New" surgeon dialog: adds the surgeon to the facility and selects them."""
    if request.method == "POST":
        form = SurgeonForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                surgeon = surgeon_create(
                    actor=request.user,
                    facility=form.cleaned_data["facility"],
                    name=form.cleaned_data["name"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                options = (
                    Surgeon.objects.for_user(request.user)
                    .filter(facilities=form.cleaned_data["facility"])
                    .order_by("name")
                )
                return _created(request, options, surgeon, "#id_physician", str(surgeon))
        facility = form.cleaned_data.get("facility") if form.is_bound else None
    else:
        facility = (
            Facility.objects.for_user(request.user)
            .filter(pk=int_id(request.GET.get("facility")))
            .first()
        )
        form = SurgeonForm(
            user=request.user, initial={"facility": facility.pk if facility else None}
        )
    return render(
        request,
        "events/case_schedule.html#surgeon_form",
        {"surgeon_form": form, "facility": facility},
    )


@permission_required("manage_directories")
def procedure_add(request):
    """The "Add New" procedure dialog: adds it to the organisation's directory and selects it."""
    form = ProcedureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            procedure = schedule_services.procedure_create(
                actor=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            options = Procedure.objects.for_user(request.user).order_by("name")
            return _created(request, options, procedure, "#id_procedure", str(procedure))
    return render(request, "events/case_schedule.html#procedure_form", {"procedure_form": form})


# --- the agenda ---------------------------------------------------------------------------------


@permission_required("view_events")
@require_GET
def agenda(request):
    """A week of cases: a rep's own; the organisation's for admins (filter by rep, facility) and
    managers (read-only)."""
    today = timezone.localdate()
    form = AgendaFilterForm(request.GET or None, user=request.user)
    # An unknown rep or facility (another organisation's, garbage) is dropped; the rest applies.
    data = {}
    if form.is_bound:
        form.is_valid()
        data = form.cleaned_data
    start = schedule_selectors.week_start(data.get("week") or today)
    rep, facility = data.get("rep"), data.get("facility")
    days = schedule_selectors.agenda_week(
        user=request.user, start=start, today=today, rep=rep, facility=facility
    )
    # Cases of today and the next two days whose rep lacks the requested stock are flagged.
    soon = [
        case
        for d in days
        for case in d.cases
        if today <= d.day <= today + datetime.timedelta(days=request_selectors.FLAG_DAYS)
        and case.is_draft
    ]
    shortfalls = request_selectors.stock_shortfalls(cases=soon)
    for d in days:
        for case in d.cases:
            case.shortfalls = shortfalls.get(case.pk, [])
    keep = "".join(f"&{k}={v.pk}" for k, v in (("rep", rep), ("facility", facility)) if v)
    return render(
        request,
        "events/agenda.html",
        {
            "form": form,
            "days": days,
            "start": start,
            "end": start + datetime.timedelta(days=6),
            "previous": f"?week={start - datetime.timedelta(days=7):%Y-%m-%d}{keep}",
            "next": f"?week={start + datetime.timedelta(days=7):%Y-%m-%d}{keep}",
            "this_week": f"?week={today:%Y-%m-%d}{keep}",
            "case_count": sum(len(d.cases) for d in days),
        },
    )


@permission_required("view_events")
def calendar_feed_settings(request):
    """Your calendar feed: create or reset its secret URL (the old one stops working)."""
    feed_url = ""
    if request.method == "POST":
        token = schedule_services.calendar_feed_reset(actor=request.user)
        feed_url = request.build_absolute_uri(reverse("events:calendar_feed", args=[token]))
        messages.success(request, "A new calendar link was made; any earlier link stops working.")
    return render(
        request,
        "events/calendar_feed.html",
        {
            "feed_url": feed_url,
            "has_feed": schedule_selectors.has_feed(user=request.user),
        },
    )


def _calendar(user, cases, request) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Fieldstock//Scheduled cases//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Fieldstock cases – {user.get_full_name() or user.username}")
    stamp = timezone.now()
    for event in cases:
        entry = CalendarEvent()
        entry.add("uid", f"case-{event.pk}@{request.get_host()}")
        entry.add("dtstamp", stamp)
        if event.scheduled_at:
            start = timezone.localtime(event.scheduled_at)
            start = start.replace(year=event.date.year, month=event.date.month, day=event.date.day)
            entry.add("dtstart", start)
            entry.add("dtend", start + CASE_LENGTH)
        else:  # a case recorded without a time: an all-day entry
            entry.add("dtstart", event.date)
            entry.add("dtend", event.date + datetime.timedelta(days=1))
        what = " – ".join(str(x) for x in (event.procedure, event.surgeon) if x)
        entry.add("summary", f"{event.name}{f' ({what})' if what else ''}")
        entry.add("location", event.facility.name)
        # No patient ID: a calendar is outside the patient access log.
        entry.add(
            "description",
            f"Rep: {event.representative}\nStatus: "
            f"{event.get_status_display()}\n"
            f"{request.build_absolute_uri(reverse('events:detail', args=[event.pk]))}",
        )
        entry.add("status", "CONFIRMED")
        calendar.add_component(entry)
    return calendar.to_ical()


@public  # the secret in the URL is the credential (calendars can't sign in); reset to revoke
@never_cache
@require_GET
def calendar_feed(request, token: str):
    user = schedule_selectors.feed_owner(token=token)
    if user is None:
        raise Http404("No calendar feed at this address (it may have been reset).")
    cases = schedule_selectors.feed_cases(user=user, today=timezone.localdate())
    response = HttpResponse(
        _calendar(user, cases, request), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="fieldstock-cases.ics"'
    return response
