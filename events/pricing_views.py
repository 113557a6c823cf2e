"""Overriding a draft line's price (admins, with a reason): the event page's line form posts
here; the service is ``events.pricing.event_line_price_override``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from events.models import Event
from events.pricing import event_line_price_override, event_line_price_reset


@permission_required("override_prices")
@require_POST
def event_line_price(request, pk: int, device_pk: int):
    event = get_object_or_404(Event.objects.for_user(request.user), pk=pk)
    line = get_object_or_404(event.lines.select_related("device"), device_id=device_pk)
    try:
        if request.POST.get("reset"):
            event_line_price_reset(actor=request.user, event=event, line=line)
            messages.success(request, f"{line.device.label}: the contract price applies again.")
        else:
            line = event_line_price_override(
                actor=request.user,
                event=event,
                line=line,
                price=request.POST.get("price", "")[:40],
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, f"{line.device.label}: price overridden.")
    except ValidationError as error:
        messages.error(request, f"{line.device.label}: " + " ".join(error.messages))
    return redirect(f"{reverse('events:detail', args=[event.pk])}?tab=used")
