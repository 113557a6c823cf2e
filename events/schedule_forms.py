"""Input validation for scheduled cases and the agenda. The services apply the rules."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone

from accounts.models import User
from accounts.selectors import reps_for
from consignment.models import Facility, Surgeon
from core.forms import BootstrapForm, CompactForm
from events.forms import EventCreateForm
from events.models import Procedure
from inventory.forms import CHOOSE


class CaseScheduleForm(EventCreateForm):
    """Schedule a case: Create Event's header for a case, with a time, a directory surgeon and a
    procedure (no patient ID yet: it is entered on the day)."""

    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    physician = forms.ModelChoiceField(
        label="Surgeon", queryset=Surgeon.objects.none(), required=False, empty_label=CHOOSE
    )
    procedure = forms.ModelChoiceField(
        queryset=Procedure.objects.none(), required=False, empty_label=CHOOSE
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        for name in ("event_type", "patient_id", "surgeon"):
            del self.fields[name]
        self.fields["date"].initial = lambda: timezone.localdate() + datetime.timedelta(days=1)
        self.fields["time"].initial = datetime.time(8, 0)
        self.fields["physician"].queryset = Surgeon.objects.for_user(user)
        self.fields["procedure"].queryset = Procedure.objects.for_user(user).order_by("name")
        self.surgeon_choices = Surgeon.objects.none()
        facility_id = self._raw_id("facility")
        if facility_id:
            self.surgeon_choices = Surgeon.objects.for_user(user).filter(facilities__id=facility_id)

    def clean(self):
        data = forms.Form.clean(self)
        if data.get("date") and data.get("time"):
            data["scheduled_at"] = timezone.make_aware(
                datetime.datetime.combine(data["date"], data["time"])
            )
        return data


class SurgeonForm(BootstrapForm, forms.Form):
    facility = forms.ModelChoiceField(queryset=Facility.objects.none(), widget=forms.HiddenInput)
    name = forms.CharField(max_length=200, help_text="e.g. Dr. Maria Lopez")

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.for_user(user)
        self.fields["name"].widget.attrs["id"] = "id_surgeon_name"


class ProcedureForm(BootstrapForm, forms.Form):
    name = forms.CharField(max_length=200, help_text="e.g. Lumbar fusion L4–L5")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["id"] = "id_procedure_name"


class AgendaFilterForm(CompactForm):
    week = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    rep = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="All reps"
    )
    facility = forms.ModelChoiceField(
        queryset=Facility.objects.none(), required=False, empty_label="All facilities"
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reps_for(user)
        self.fields["facility"].queryset = Facility.objects.for_user(user).order_by("name")
        if user.is_rep:  # a rep's agenda is their own
            del self.fields["rep"]


REQUEST_ROWS = 6


class InventoryRequestForm(BootstrapForm, forms.Form):
    """Products and quantities (``product_N`` / ``quantity_N`` rows), or a kit template."""

    kit_template = forms.ModelChoiceField(
        label="Kit (its whole content)", queryset=None, required=False, empty_label="No kit"
    )
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        from inventory.kit_models import KitTemplate
        from inventory.models import Product

        products = Product.objects.filter(organization_id=event.organization_id).order_by(
            "reference"
        )
        self.fields["kit_template"].queryset = KitTemplate.objects.filter(
            organization_id=event.organization_id
        ).order_by("name")
        self.rows = []
        for n in range(1, REQUEST_ROWS + 1):
            self.fields[f"product_{n}"] = forms.ModelChoiceField(
                label="Product", queryset=products, required=False, empty_label=CHOOSE
            )
            self.fields[f"quantity_{n}"] = forms.IntegerField(
                label="Quantity", min_value=1, max_value=500, required=False
            )
            self.rows.append((self[f"product_{n}"], self[f"quantity_{n}"]))

    def clean(self):
        data = super().clean()
        quantities = []
        for n in range(1, REQUEST_ROWS + 1):
            product, quantity = data.get(f"product_{n}"), data.get(f"quantity_{n}")
            if product and not quantity:
                self.add_error(f"quantity_{n}", "How many?")
            elif product:
                quantities.append((product, quantity))
        data["quantities"] = quantities
        return data


class RequestAnswerForm(BootstrapForm, forms.Form):
    refusal_reason = forms.CharField(
        label="Refuse the rest: reason (shown to the rep)",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. back-ordered until next week"}),
    )
