"""Events screens: the list, Create Event, the event page with its "Mark Used Inventory" tab
and "Submit For Billing". Views validate with a form, call one service, map its errors back."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event
from django_tables2 import RequestConfig

from accounts.decorators import permission_required
from accounts.models import User
from accounts.security import patient_access_record
from accounts.selectors import reps_for
from consignment.models import Facility, FacilityContact
from consignment.services import facility_contact_create
from core.forms import add_service_errors
from core.http import int_id, int_ids
from core.tables import BoundedPaginator
from events import selectors, services
from events.filters import EventFilter
from events.forms import (
    SUBMIT_ERRORS_SESSION_KEY,
    CreateStockingOrderForm,
    EventCancelForm,
    EventCreateForm,
    EventUpdateForm,
    FacilityContactForm,
    ScanForm,
    SubmitForBillingForm,
)
from events.models import Event, EventType
from events.policy import policy_for
from events.pricing import draft_line_prices
from events.tables import EventTable
from inventory.forms import CHOOSE
from inventory.kit_selectors import kit_by_tag
from inventory.models import Device, ProductLine

TABS = ("details", "used")


def _can_edit(user: User, event: Event) -> bool:
    """The editing controls show on a draft the user may change (``services.can_edit``)."""
    return event.is_draft and services.can_edit(user, event)


def _get_event(request, pk: int) -> Event:
    return get_object_or_404(selectors.event_detail_qs(user=request.user), pk=pk)


def _detail_url(event: Event, tab: str = "used") -> str:
    return f"{reverse('events:detail', args=[event.pk])}?tab={tab}"


# --- list and create ---------------------------------------------------------------------------


@permission_required("view_events")
@require_GET
def event_list(request):
    event_filter = EventFilter(
        request.GET, queryset=selectors.event_list(user=request.user), request=request
    )
    table = EventTable(event_filter.qs)
    RequestConfig(
        request, paginate={"per_page": 25, "paginator_class": BoundedPaginator}
    ).configure(table)
    return render(
        request,
        "events/event_list.html",
        {
            "filter": event_filter,
            "table": table,
            "can_create": request.user.can("create_events"),
            "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
        },
    )


@permission_required("create_events")
def event_create(request):
    form = EventCreateForm(
        request.POST or None, user=request.user,
        initial=None if request.method == "POST" else {"event_type": request.GET.get("type")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = services.event_create(
                actor=request.user,
                event_type=data["event_type"],
                name=data["name"],
                date=data["date"],
                facility=data["facility"],
                representative=data["representative"],
                manufacturer=data["manufacturer"],
                product_line=data["product_line"],
                facility_contact=data["facility_contact"],
                patient_id=data["patient_id"],
                surgeon=data["surgeon"],
                create_key=data["create_key"],
            )
        except services.AlreadyCreated as exc:  # the same form posted again: no second draft
            messages.info(request, f"{exc.event} was already created from this form: here it "
                                   "is.")
            return redirect(_detail_url(exc.event))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            verb, what = policy_for(event).mark_label.split(" ", 1)  # "Mark", "Used Inventory"
            messages.success(request, f"{event} created. {verb} the {what.lower()} next.")
            return redirect(_detail_url(event))
    return render(
        request, "events/event_create.html", {"form": form, "case_type": EventType.CASE}
    )


def _options(request, queryset):
    """The <option>s of a dependent choice on Create Event (swapped in by htmx)."""
    return render(
        request, "events/_event_header_fields.html#options",
        {"options": queryset.order_by("name"), "empty_label": CHOOSE, "selected": None},
    )


@permission_required("create_events")
@require_GET
def product_line_options(request):
    """<option>s of the chosen manufacturer's product lines (Create Event, via htmx)."""
    lines = ProductLine.objects.for_user(request.user).filter(
        manufacturer_id=int_id(request.GET.get("manufacturer"))
    )
    return _options(request, lines)


@permission_required("create_events")
@require_GET
def contact_options(request):
    """<option>s of the chosen facility's contacts (Create Event, via htmx)."""
    contacts = FacilityContact.objects.for_user(request.user).filter(
        facility_id=int_id(request.GET.get("facility"))
    )
    return _options(request, contacts)


@permission_required("add_facility_contacts")
def contact_create(request):
    """The "Add New" facility contact dialog: creates the contact and selects it."""
    if request.method == "POST":
        form = FacilityContactForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                contact = facility_contact_create(
                    actor=request.user, facility=data["facility"], name=data["name"],
                    title=data["title"], email=data["email"], phone=data["phone"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                contacts = FacilityContact.objects.for_user(request.user).filter(
                    facility=contact.facility
                ).order_by("name")
                response = render(
                    request, "events/_event_header_fields.html#options",
                    {"options": contacts, "empty_label": CHOOSE, "selected": contact.pk},
                )
                if request.htmx:
                    response = retarget(response, "#id_facility_contact")
                    response = reswap(response, "innerHTML")
                    response = trigger_client_event(
                        response, "fs:contact-created", {"name": str(contact)}
                    )
                return response
        facility = form.cleaned_data.get("facility") if form.is_bound else None
    else:
        facility = Facility.objects.for_user(request.user).filter(
            pk=int_id(request.GET.get("facility"))
        ).first()
        form = FacilityContactForm(
            user=request.user, initial={"facility": facility.pk if facility else None}
        )
    return render(
        request, "events/event_create.html#contact_form", {"contact_form": form,
                                                           "facility": facility},
    )



# --- the event page ------------------------------------------------------------------------------


def _search_context(event: Event, query: str, *, can_edit: bool, viewer: User) -> dict:
    """The Mark Used search's results — the event's product line first, each unit expiring
    within ``settings.MARK_USED_EXPIRY_WARNING_DAYS`` carrying ``expires_in`` (days) for its
    badge — and what the search left out and why (``hidden``)."""
    if not can_edit:
        return {"results": [], "hidden": []}
    today = timezone.localdate()
    results = list(selectors.event_device_search(event=event, query=query, today=today))
    for device in results:
        device.expires_in = selectors.expiry_warning_days(
            device, today=today, within=settings.MARK_USED_EXPIRY_WARNING_DAYS)
    return {"results": results, "expiry_warning_days": settings.MARK_USED_EXPIRY_WARNING_DAYS,
            "hidden": selectors.event_device_search_hidden(event=event, query=query,
                                                           today=today, viewer=viewer)}


def _panel_context(request, event: Event, **extra) -> dict:
    lines = draft_line_prices(event=event, lines=list(selectors.event_lines(event=event)))
    can_edit = _can_edit(request.user, event)
    query = extra.pop("query", request.POST.get("q", request.GET.get("q", "")))
    problems = services.draft_line_problems(event=event, lines=lines)
    today = timezone.localdate()
    for line in lines:
        line.problem = problems.get(line.pk, "")
        # A unit marked by a scan skips the search: the draft's lines flag it as well.
        line.expires_in = selectors.expiry_warning_days(
            line.device, today=today, within=settings.MARK_USED_EXPIRY_WARNING_DAYS,
        ) if event.is_draft else None
    context = {
        "event": event,
        "lines": lines,
        "line_problems": list(problems.values()),
        "total": selectors.lines_total(lines),
        "can_edit": can_edit,
        "query": query,
        **_search_context(event, query, can_edit=can_edit, viewer=request.user),
        "scan_form": ScanForm(),
        "submit_form": SubmitForBillingForm(event=event),
        "words": policy_for(event),
    }
    context.update(extra)
    return context




def _render_detail(request, event: Event, tab: str, status: int = 200, **extra):
    # A refused Submit For Billing redirected here: show its errors in the submit form.
    submit_errors = request.session.pop(SUBMIT_ERRORS_SESSION_KEY.format(event.pk), None)
    if submit_errors and "submit_form" not in extra:
        form = SubmitForBillingForm(event=event)
        form._errors = {"__all__": form.error_class(submit_errors)}
        extra["submit_form"] = form
    context = _panel_context(request, event, **extra)
    context["tab"] = tab
    if context["can_edit"]:
        context.setdefault("cancel_form", EventCancelForm())
    if tab == "details" and context["can_edit"] and "update_form" not in context:
        context["update_form"] = EventUpdateForm(event=event, user=request.user)
    if event.is_case and event.patient_id:
        patient_access_record(
            request, patient_ids=[event.patient_id], what="event page", subject=str(event)
        )
    return render(request, "events/event_detail.html", context, status=status)


@permission_required("view_events")
@require_GET
def event_detail(request, pk: int):
    event = _get_event(request, pk)
    if event.is_loan:  # a Loan has its own page (its kits, due back, check-in)
        return redirect("events:loan_detail", pk=event.pk)
    tab = request.GET.get("tab")
    if tab not in TABS:
        tab = "details"
    return _render_detail(request, event, tab)


@permission_required("view_events")
@require_GET
def event_device_search(request, pk: int):
    """Search results for the "Mark Used Inventory" tab (htmx, as you type)."""
    event = _get_event(request, pk)
    can_edit = _can_edit(request.user, event)
    query = request.GET.get("q", "")
    return render(
        request, "events/event_detail.html#search_results",
        {"event": event, "can_edit": can_edit, "query": query,
         **_search_context(event, query, can_edit=can_edit, viewer=request.user)},
    )


def _panel_response(request, event: Event, *, notice: str = "", **extra):
    """After a change on the "Mark Used Inventory" tab: the refreshed panel (htmx) or a redirect."""
    if request.htmx:
        return render(
            request, "events/event_detail.html#used_panel",
            _panel_context(request, event, notice=notice, **extra),
        )
    for key in ("scan_errors", "add_errors", "filter_errors"):
        for error in extra.get(key, []):
            messages.error(request, error)
    if notice:
        messages.success(request, notice)
    return redirect(_detail_url(event))


@permission_required("edit_events")
@require_POST
def event_add_device(request, pk: int):
    event = _get_event(request, pk)
    device = Device.objects.filter(
        organization_id=event.organization_id, pk=int_id(request.POST.get("device"))
    ).select_related("product").first()
    if device is None:
        return _panel_response(request, event, add_errors=["That device no longer exists."])
    try:
        services.event_add_devices(actor=request.user, event=event, devices=[device])
    except ValidationError as exc:
        return _panel_response(request, event, add_errors=exc.messages)
    return _panel_response(request, event, notice=f"Added {device.label}.")


@permission_required("edit_events")
@require_POST
def event_scan(request, pk: int):
    event = _get_event(request, pk)
    kit = kit_by_tag(organization_id=event.organization_id, tag=request.POST.get("label", ""))
    if kit is not None:  # a kit's tag: say what it holds for this case
        where = ("on loan here: scan or search the units used from it"
                 if kit.facility_id == event.facility_id else
                 "not on loan here: its units can't be used on this case")
        return _panel_response(request, event, scan_errors=[f"{kit.tag} is a kit, {where}."],
                               scan_focus=True)
    form = ScanForm(request.POST)
    if not form.is_valid():
        return _panel_response(request, event, scan_errors=form.errors["label"], scan_focus=True)
    try:
        line = services.event_add_by_udi(
            actor=request.user, event=event, label=form.cleaned_data["label"]
        )
    except ValidationError as exc:
        return _panel_response(request, event, scan_errors=exc.messages, scan_focus=True)
    return _panel_response(
        request, event, notice=f"Scanned and added {line.device.label}.", scan_focus=True
    )


@permission_required("edit_events")
@require_POST
def event_remove_device(request, pk: int, device_pk: int):
    event = _get_event(request, pk)
    device = get_object_or_404(event.lines.select_related("device"), device_id=device_pk).device
    try:
        services.event_remove_device(actor=request.user, event=event, device=device)
    except ValidationError as exc:
        return _panel_response(request, event, add_errors=exc.messages)
    return _panel_response(request, event, notice=f"Removed {device.label}.")


@permission_required("edit_events")
@require_POST
def event_line_damaged(request, pk: int, device_pk: int):
    """A Return's per-line "damaged" flag (damaged units are returned for destruction)."""
    event = _get_event(request, pk)
    device = get_object_or_404(event.lines.select_related("device"), device_id=device_pk).device
    damaged = request.POST.get("damaged") in ("on", "1", "true")
    try:
        services.event_line_set_damaged(
            actor=request.user, event=event, device=device, damaged=damaged
        )
    except ValidationError as exc:
        return _panel_response(request, event, add_errors=exc.messages)
    state = "damaged: it will be returned for destruction" if damaged else "not damaged"
    return _panel_response(request, event, notice=f"{device.label} marked {state}.")


@permission_required("edit_events")
@require_POST
def event_facility_stock_only(request, pk: int):
    """The "Show Facility Stock items only" filter of a case."""
    event = _get_event(request, pk)
    wanted = request.POST.get("facility_stock_only") in ("on", "1", "true")
    try:
        event = services.event_set_facility_stock_only(
            actor=request.user, event=event, facility_stock_only=wanted
        )
    except ValidationError as exc:
        return _panel_response(request, _get_event(request, pk), filter_errors=exc.messages)
    event = _get_event(request, pk)
    return _panel_response(request, event, query="")


@permission_required("edit_events")
@require_POST
def event_update(request, pk: int):
    event = _get_event(request, pk)
    form = EventUpdateForm(request.POST, event=event, user=request.user)
    if form.is_valid():
        try:
            services.event_update(actor=request.user, event=event, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Event details saved.")
            return redirect(_detail_url(event, "details"))
    return _render_detail(request, event, "details", update_form=form)


@permission_required("edit_events")
@require_POST
def event_cancel(request, pk: int):
    """Cancel a draft: it stays in the list as Cancelled, its devices are released."""
    event = _get_event(request, pk)
    form = EventCancelForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("reason", []):
            messages.error(request, error)
        return redirect(_detail_url(event, "details"))
    try:
        event = services.event_cancel(
            actor=request.user, event=event, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, f"{event} was cancelled; its devices are free for other events.")
    return redirect(_detail_url(event, "details"))


# --- Swap expiring facility stock (the dashboard's expiring list; issue 15) ----------------------


@require_POST
@permission_required("create_events")
def swap_create(request):
    """"Swap" on the dashboard's expiring list: a draft Return of the ticked units and a draft
    Stocking Order of the same products from the rep's custody, longest dating first."""
    devices = list(Device.objects.for_user(request.user).filter(
        pk__in=int_ids(request.POST.getlist("device"))
    ))
    rep = None
    if request.user.is_admin and request.POST.get("rep"):
        rep = reps_for(request.user).filter(pk__in=int_ids([request.POST["rep"]])).first()
    try:
        swap = services.swap_expiring_create(actor=request.user, devices=devices,
                                             representative=rep)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("reporting:index")
    messages.success(request, "Swap prepared: review the draft return and the draft stocking "
                              "order, then submit each.")
    url = reverse("reporting:swap_detail", args=[swap.return_event.pk])
    if swap.stocking_order is not None:
        url += f"?order={swap.stocking_order.pk}"
    return redirect(url)


@require_POST
@permission_required("create_events")
def replenishment_create(request):
    """"Create Stocking Order" on the replenishment page (reporting): a draft for the facility,
    filled with the rep's available devices, soonest expiry first."""
    form = CreateStockingOrderForm(request.POST, user=request.user)
    back = reverse("reporting:replenishment")
    if not form.is_valid():
        messages.error(request, "Choose a facility, a rep and a product line.")
        return redirect(back)
    facility, rep = form.cleaned_data["facility"], form.cleaned_data["rep"]
    back += f"?facility={facility.pk}&rep={rep.pk}"
    try:
        made = services.replenishment_stocking_order_create(
            actor=request.user, facility=facility, representative=rep,
            product_line=form.cleaned_data["product_line"], quantities=form.quantities(),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(request, f"Draft stocking order created with {made.added} devices.")
    if made.missing:
        messages.warning(
            request, f"{sum(made.missing.values())} of the suggested devices are not in {rep}'s "
                     "available inventory and were left out.",
        )
    return redirect("events:detail", pk=made.event.pk)
