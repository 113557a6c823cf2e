"""Forms of the loan screens: input validation only; ``events.loan_services`` applies the rules."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from accounts.models import User
from accounts.selectors import reps_for
from consignment.models import Facility
from core.forms import BootstrapForm
from inventory.forms import CHOOSE, DeviceCheckboxes
from inventory.models import Device, Kit


class KitCheckboxes(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return f"{obj.tag} · {obj.template} · {obj.custodian}"


class LoanForm(BootstrapForm, forms.Form):
    kits = KitCheckboxes(queryset=Kit.objects.none(), label="Kits")
    facility = forms.ModelChoiceField(queryset=None, label="Facility", empty_label=CHOOSE)
    representative = forms.ModelChoiceField(queryset=User.objects.none(), label="Representative",
                                            empty_label=CHOOSE)
    date = forms.DateField(label="Case date", widget=forms.DateInput(attrs={"type": "date"}))
    due_back = forms.DateField(label="Due back", widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(label="Name", required=False, max_length=200,
                           help_text="Optional: e.g. the surgeon and procedure.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        kits = Kit.objects.for_user(user).filter(status=Kit.Status.AVAILABLE).select_related(
            "template", "custodian").order_by("tag")
        if user.is_rep:
            kits = kits.filter(custodian=user)
            del self.fields["representative"]
        else:
            self.fields["representative"].queryset = reps_for(user)
        self.fields["kits"].queryset = kits
        self.fields["facility"].queryset = Facility.objects.for_user(user).order_by("name")
        today = timezone.localdate()
        self.fields["date"].initial = today
        self.fields["due_back"].initial = today + timezone.timedelta(days=7)


class LoanEditForm(BootstrapForm, forms.Form):
    """A loan's header, corrected while it is out (``loan_services.loan_update``)."""

    name = forms.CharField(label="Name", max_length=200)
    facility = forms.ModelChoiceField(queryset=None, label="Facility", empty_label=CHOOSE,
                                      help_text="Only while nothing of the loan is used or on a "
                                                "case.")
    date = forms.DateField(label="Case date", widget=forms.DateInput(attrs={"type": "date"}))
    due_back = forms.DateField(label="Due back", widget=forms.DateInput(attrs={"type": "date"}),
                               help_text="Earlier, or the same: a later date is an extension.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.for_user(user).order_by("name")


class LoanExtendForm(BootstrapForm, forms.Form):
    due_back = forms.DateField(label="New due-back date",
                               widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label="Reason", max_length=300)


class CheckInForm(BootstrapForm, forms.Form):
    """What came back (ticked or scanned) and what is reported lost."""

    present = DeviceCheckboxes(queryset=Device.objects.none(), label="Back in the kit",
                               required=False)
    labels = forms.CharField(label="Scan what is in the kit (one label or serial per line)",
                             required=False,
                             widget=forms.Textarea(attrs={"rows": 3, "class": "scan-input",
                                                          "autocomplete": "off"}))
    lost = DeviceCheckboxes(queryset=Device.objects.none(), label="Report lost (stock adjustment)",
                            required=False)
    note = forms.CharField(label="Note", required=False, max_length=300)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["present"].queryset = members
        self.fields["lost"].queryset = members


class ChargeForm(BootstrapForm, forms.Form):
    """Charge missing units to a draft case at the loan's facility."""

    case = forms.ModelChoiceField(queryset=None, label="Case", empty_label=CHOOSE)
    devices = DeviceCheckboxes(queryset=Device.objects.none(), label="Units")

    def __init__(self, *args, cases, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases
        self.fields["devices"].queryset = members
