"""The hospital's sign-off of a case on the rep's phone: the contact's drawn signature (name,
title) beside the rep's own, and the patient-sticker photo; the photo served only to those who
may see the case's patient ID, each view written to the patient access log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required
from accounts.security import patient_access_record
from core.forms import BootstrapForm, add_service_errors
from core.http import content_disposition
from events import selectors, signoff_services
from events.models import CaseSignOff
from events.services import can_edit
from events.signoff_models import SIGNATURE_HEIGHT, SIGNATURE_WIDTH

PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class SignOffForm(BootstrapForm, forms.Form):
    contact_name = forms.CharField(
        label="Contact's name",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    contact_title = forms.CharField(
        label="Contact's title",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    contact_signature = forms.CharField(
        required=False, widget=forms.HiddenInput, max_length=200_000
    )
    rep_signature = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200_000)
    sticker_photo = forms.FileField(
        label="Patient sticker photo",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


def _case(request, pk: int):
    event = get_object_or_404(selectors.event_detail_qs(user=request.user), pk=pk)
    if not event.is_case:
        raise Http404("Only a case is signed off by the hospital.")
    return event


@permission_required("submit_for_billing")
def case_sign_off(request, pk: int):
    event = _case(request, pk)
    sign_off = CaseSignOff.objects.filter(event=event).first()
    editable = event.is_draft and can_edit(request.user, event)
    initial = {}
    if sign_off:
        initial = {"contact_name": sign_off.contact_name, "contact_title": sign_off.contact_title}
    elif event.facility_contact_id:
        initial = {
            "contact_name": event.facility_contact.name,
            "contact_title": event.facility_contact.title,
        }
    form = SignOffForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and editable and form.is_valid():
        data = form.cleaned_data
        try:
            signoff_services.case_sign_off_record(
                actor=request.user,
                event=event,
                contact_name=data["contact_name"],
                contact_title=data["contact_title"],
                contact_signature=data["contact_signature"],
                rep_signature=data["rep_signature"],
                sticker_photo=data["sticker_photo"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Hospital sign-off saved. Submit For Billing when ready.")
            return redirect(f"{reverse('events:detail', args=[event.pk])}?tab=used")
    return render(
        request,
        "events/case_sign_off.html",
        {
            "event": event,
            "sign_off": sign_off,
            "form": form,
            "editable": editable,
            "width": SIGNATURE_WIDTH,
            "height": SIGNATURE_HEIGHT,
            "organization": request.user.organization,
        },
    )


@permission_required("view_events")
@require_GET
def sticker_photo(request, pk: int):
    """The patient-sticker photo: the case's own rep, admins and managers (who see its patient
    ID); every view is written to the patient access log."""
    event = _case(request, pk)
    sign_off = CaseSignOff.objects.filter(event=event).first()
    if sign_off is None or not sign_off.sticker_photo:
        raise Http404("No sticker photo for this case.")
    extension = sign_off.sticker_photo.name.rsplit(".", 1)[-1].lower()
    with sign_off.sticker_photo.open("rb") as photo:
        data = photo.read()
    patient_access_record(
        request,
        patient_ids=[event.patient_id or "(on the sticker)"],
        what="patient sticker photo",
        subject=str(event),
    )
    response = HttpResponse(
        data, content_type=PHOTO_TYPES.get(extension, "application/octet-stream")
    )
    response["Content-Disposition"] = content_disposition(
        f"sticker-{event.pk}.{extension}", attachment=False
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
