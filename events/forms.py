"""Input validation for the events screens. The services apply the rules."""

from __future__ import annotations

import uuid

from django import forms
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.selectors import reps_for
from consignment.models import Facility, FacilityContact
from core.forms import BootstrapForm, CompactForm
from core.http import int_id
from events.models import EventType
from events.selectors import facilities_in_scope
from inventory.forms import CHOOSE
from inventory.models import Manufacturer, ProductLine
from inventory.selectors import product_lines_for


class EventCreateForm(BootstrapForm, forms.Form):
    # A Loan needs kits and a due-back date: it is made on its own page (Kits → Loan kits).
    event_type = forms.ChoiceField(
        label="Event Type", choices=[c for c in EventType.choices if c[0] != EventType.LOAN]
    )
    name = forms.CharField(max_length=200)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    facility = forms.ModelChoiceField(queryset=Facility.objects.none(), empty_label=CHOOSE)
    representative = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=CHOOSE)
    facility_contact = forms.ModelChoiceField(
        label="Facility contact", queryset=FacilityContact.objects.none(), required=False,
        empty_label=CHOOSE,
    )
    manufacturer = forms.ModelChoiceField(queryset=Manufacturer.objects.none(), empty_label=CHOOSE)
    product_line = forms.ModelChoiceField(
        label="Product line", queryset=ProductLine.objects.none(), empty_label=CHOOSE
    )
    patient_id = forms.CharField(label="Patient ID", max_length=64, required=False)
    surgeon = forms.CharField(max_length=200, required=False)
    # The form's token: posting the same form twice (Back, then Create) finds the first draft.
    create_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["date"].initial = timezone.localdate
        self.fields["create_key"].initial = uuid.uuid4
        self.fields["facility"].queryset = Facility.objects.for_user(user).order_by("name")
        reps = User.objects.for_user(user).filter(role=User.Role.REP, is_active=True)
        if user.role == User.Role.REP:
            reps = reps.filter(pk=user.pk)
            self.fields["representative"].initial = user.pk
            self.fields["representative"].disabled = True
            self.fields["representative"].help_text = "You create events for yourself."
        else:
            self.fields["representative"].help_text = (
                "The rep credited with the sale; the devices come from their custody."
            )
        self.fields["representative"].queryset = reps
        self.fields["manufacturer"].queryset = Manufacturer.objects.for_user(user).order_by("name")
        # Contacts and product lines are validated against the whole organisation, but only those
        # of the chosen facility / manufacturer are offered (htmx refreshes them on change).
        self.fields["facility_contact"].queryset = FacilityContact.objects.for_user(user)
        self.fields["product_line"].queryset = ProductLine.objects.for_user(user)
        self.contact_choices = FacilityContact.objects.none()
        self.line_choices = ProductLine.objects.none()
        facility_id = self._raw_id("facility")
        if facility_id:
            self.contact_choices = FacilityContact.objects.for_user(user).filter(
                facility_id=facility_id
            )
        manufacturer_id = self._raw_id("manufacturer")
        if manufacturer_id:
            self.line_choices = ProductLine.objects.for_user(user).filter(
                manufacturer_id=manufacturer_id
            )

    def _raw_id(self, name: str) -> int | None:
        return int_id(self.data.get(name) if self.is_bound else self.initial.get(name))

    def clean(self):
        data = super().clean()
        if data.get("event_type") == EventType.CASE:
            return data
        data["patient_id"] = ""
        return data


class FacilityContactForm(BootstrapForm, forms.Form):
    facility = forms.ModelChoiceField(queryset=Facility.objects.none(), widget=forms.HiddenInput)
    name = forms.CharField(max_length=200)
    title = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(max_length=254, required=False)  # the column's length
    phone = forms.CharField(max_length=50, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.for_user(user)
        for name in ("name", "title", "email", "phone"):
            self.fields[name].widget.attrs["id"] = f"id_contact_{name}"


class EventUpdateForm(BootstrapForm, forms.Form):
    """A draft's details and header; the service re-checks the marked devices against a new
    facility, rep or manufacturer and refuses a change they would no longer fit."""

    name = forms.CharField(max_length=200)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    facility = forms.ModelChoiceField(queryset=Facility.objects.none(), empty_label=CHOOSE)
    representative = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=CHOOSE)
    facility_contact = forms.ModelChoiceField(
        label="Facility contact", queryset=FacilityContact.objects.none(), required=False,
        empty_label="—",
    )
    manufacturer = forms.ModelChoiceField(queryset=Manufacturer.objects.none(), empty_label=CHOOSE)
    product_line = forms.ModelChoiceField(
        label="Product line", queryset=ProductLine.objects.none(), empty_label=CHOOSE
    )
    patient_id = forms.CharField(label="Patient ID", max_length=64, required=False)
    surgeon = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, event, user: User, **kwargs):
        kwargs.setdefault("initial", {
            "name": event.name, "date": event.date, "patient_id": event.patient_id,
            "surgeon": event.surgeon, "facility": event.facility_id,
            "representative": event.representative_id,
            "facility_contact": event.facility_contact_id,
            "manufacturer": event.manufacturer_id, "product_line": event.product_line_id,
        })
        super().__init__(*args, **kwargs)
        if not event.is_case:
            del self.fields["patient_id"]
            del self.fields["surgeon"]
        self.fields["facility"].queryset = Facility.objects.for_user(user).order_by("name")
        reps = User.objects.for_user(user).filter(role=User.Role.REP, is_active=True)
        if user.role == User.Role.REP:  # a rep's events are their own
            reps = reps.filter(pk=event.representative_id)
            self.fields["representative"].disabled = True
        self.fields["representative"].queryset = reps.order_by("first_name", "last_name")
        self.fields["manufacturer"].queryset = Manufacturer.objects.for_user(user).order_by("name")
        raw = self.data if self.is_bound else {}
        facility_id = int_id(raw.get("facility")) or event.facility_id
        maker_id = int_id(raw.get("manufacturer")) or event.manufacturer_id
        self.fields["facility_contact"].queryset = FacilityContact.objects.for_user(user).filter(
            facility_id=facility_id
        ).order_by("name")
        self.fields["product_line"].queryset = ProductLine.objects.for_user(user).filter(
            manufacturer_id=maker_id
        ).order_by("name")
        # The dependent choices follow their parent, as on Create Event (htmx).
        self.fields["facility"].widget.attrs.update({
            "hx-get": reverse("events:contact_options"), "hx-trigger": "change",
            "hx-target": "#id_facility_contact", "hx-swap": "innerHTML",
        })
        self.fields["manufacturer"].widget.attrs.update({
            "hx-get": reverse("events:product_line_options"), "hx-trigger": "change",
            "hx-target": "#id_product_line", "hx-swap": "innerHTML",
        })


class ScanForm(BootstrapForm, forms.Form):
    label = forms.CharField(label="Scan a UDI label", max_length=400, strip=False)

    def clean_label(self):
        # A trailing space may be a HIBC label's check character: the label parser decides.
        label = self.cleaned_data["label"].strip("\r\n\t").lstrip(" ")
        if not label:
            raise forms.ValidationError("Scan or type a UDI label.")
        return label


# A refused Submit For Billing (billing.views) leaves its reasons here for the event page.
SUBMIT_ERRORS_SESSION_KEY = "events:submit-errors:{}"


class SubmitForBillingForm(BootstrapForm, forms.Form):
    signature_name = forms.CharField(
        label="Signature (type your full name)", max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    attest = forms.BooleanField(
        label="I attest that the devices listed were used or sold as recorded on this event.",
        error_messages={"required": "Tick the attestation to sign the submission."},
    )

    def __init__(self, *args, event=None, **kwargs):
        super().__init__(*args, **kwargs)
        if event is not None and event.is_return:
            self.fields["attest"].label = (
                "I attest that the devices listed were returned by the facility in the "
                "condition recorded on this return."
            )

class EventCancelForm(BootstrapForm, forms.Form):
    reason = forms.CharField(
        label="Reason (optional)", max_length=300, required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. case postponed"}),
    )


class CreateStockingOrderForm(CompactForm):
    """The quantities come as ``qty_<product id>`` fields, one per suggested product."""

    facility = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    rep = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    product_line = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities_in_scope(user)
        self.fields["rep"].queryset = reps_for(user).filter(is_active=True)
        self.fields["product_line"].queryset = product_lines_for(user)

    def quantities(self) -> dict[int, int]:
        result = {}
        for key, value in self.data.items():
            product_id = int_id(key[4:]) if key.startswith("qty_") else None
            if product_id is not None:
                try:
                    qty = int(value)
                except (TypeError, ValueError):
                    continue
                if 0 < qty <= 500:
                    result[product_id] = qty
        return result
