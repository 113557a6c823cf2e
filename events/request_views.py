"""Inventory requests: a rep asks for products for an upcoming case; the admins' queue; an
admin sends units (a transfer to the rep) and refuses the rest with a reason."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required
from core.forms import add_service_errors
from core.http import int_ids
from events import request_selectors, request_services, selectors
from events.schedule_forms import InventoryRequestForm, RequestAnswerForm
from inventory.models import Device


@permission_required("request_inventory")
def request_create(request, pk: int):
    event = get_object_or_404(selectors.event_detail_qs(user=request.user), pk=pk)
    form = InventoryRequestForm(request.POST or None, event=event)
    if request.method == "POST" and form.is_valid():
        try:
            made = request_services.inventory_request_create(
                actor=request.user,
                event=event,
                quantities=form.cleaned_data["quantities"],
                kit_template=form.cleaned_data["kit_template"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{made} sent to the office.")
            return redirect("events:detail", pk=event.pk)
    return render(request, "events/request_create.html", {"event": event, "form": form})


@permission_required("fulfil_requests")
@require_GET
def request_queue(request):
    requests = list(request_selectors.request_queue(user=request.user)[:200])
    return render(request, "events/request_queue.html", {"requests": requests})


@permission_required("fulfil_requests")
def request_answer(request, pk: int):
    """Send units (ticked; longest dating first suggested) and/or refuse the rest."""
    inv_request = get_object_or_404(request_selectors.request_detail_qs(user=request.user), pk=pk)
    form = RequestAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        devices = list(
            Device.objects.filter(
                organization_id=request.user.organization_id,
                pk__in=int_ids(request.POST.getlist("device")),
            ).select_related("product")
        )
        try:
            answered = request_services.inventory_request_answer(
                actor=request.user,
                request=inv_request,
                devices=devices,
                refusal_reason=form.cleaned_data["refusal_reason"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            sent = len(devices)
            messages.success(
                request,
                f"{answered}: {sent} unit{'s' if sent != 1 else ''} sent to "
                f"{answered.event.representative}"
                f"{' (waiting for them to accept)' if sent else ''}; "
                f"{answered.get_status_display().lower()}.",
            )
            return redirect("events:request_queue")
    lines = list(inv_request.lines.all())
    units = request_selectors.suggested_units(request=inv_request, today=timezone.localdate())
    for line in lines:
        line.units = units.get(line.product_id, [])
    return render(
        request,
        "events/request_answer.html",
        {"inv_request": inv_request, "lines": lines, "form": form},
    )
