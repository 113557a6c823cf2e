"""Forms of the kit screens: input validation only; the kit services apply the rules."""

from __future__ import annotations

from django import forms

from accounts.models import User
from core.forms import BootstrapForm
from inventory.forms import CHOOSE, CustodianChoiceField, DeviceCheckboxes, custodians_of
from inventory.models import Device, KitTemplate, ProductLine

TEMPLATE_CSV_HELP = ("One product per line: <code>reference,quantity</code> (a header line "
                     "<code>reference,quantity</code> first; a GTIN may stand for the reference).")


class KitTemplateForm(BootstrapForm, forms.Form):
    name = forms.CharField(max_length=200, label="Name",
                           widget=forms.TextInput(attrs={"placeholder": "Pedicle Screw Set 5.5"}))
    product_line = forms.ModelChoiceField(queryset=ProductLine.objects.none(),
                                          label="Product line", empty_label=CHOOSE)
    items = forms.CharField(label="Items (CSV)", required=False, help_text=TEMPLATE_CSV_HELP,
                            widget=forms.Textarea(attrs={"rows": 6}))
    csv_file = forms.FileField(label="Or import a CSV file", required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_line"].queryset = ProductLine.objects.for_user(user).select_related(
            "manufacturer")

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("csv_file")
        if upload is not None:
            if upload.size > 1024 * 1024:
                raise forms.ValidationError("The CSV file is larger than 1 MB.")
            cleaned["data"] = upload.read()
        elif (cleaned.get("items") or "").strip():
            text = cleaned["items"].strip()
            if not text.lower().startswith(("reference", "gtin")):
                text = "reference,quantity\n" + text
            cleaned["data"] = text
        else:
            raise forms.ValidationError("List the items or choose a CSV file.")
        return cleaned


class KitTemplateItemsForm(BootstrapForm, forms.Form):
    items = forms.CharField(label="Items", help_text="One product per line: reference,quantity.",
                            widget=forms.Textarea(attrs={"rows": 6}))


class KitCreateForm(BootstrapForm, forms.Form):
    template = forms.ModelChoiceField(queryset=KitTemplate.objects.none(), label="Template",
                                      empty_label=CHOOSE)
    tag = forms.CharField(max_length=32, label="Tag",
                          help_text="Printed on the kit's label as a QR code, e.g. PSS-001.")
    custodian = CustodianChoiceField(queryset=User.objects.none(), label="Custodian")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = KitTemplate.objects.for_user(user)
        if user.is_rep:
            del self.fields["custodian"]
        else:
            self.fields["custodian"].queryset = custodians_of(user)


class KitEditForm(BootstrapForm, forms.Form):
    tag = forms.CharField(max_length=32, label="Tag",
                          help_text="A new tag needs a new label: print it from the kit's page.")
    template = forms.ModelChoiceField(queryset=KitTemplate.objects.none(), label="Template",
                                      empty_label=CHOOSE)
    notes = forms.CharField(label="Notes", required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = KitTemplate.objects.for_user(user)


class KitPackForm(BootstrapForm, forms.Form):
    """Build by scanning (one label or serial per line) or by picking."""

    labels = forms.CharField(label="Scan units (one label or serial per line)", required=False,
                             widget=forms.Textarea(attrs={"rows": 3, "class": "scan-input",
                                                          "autocomplete": "off"}))
    devices = DeviceCheckboxes(queryset=Device.objects.none(), label="Or pick units",
                               required=False)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["devices"].queryset = candidates


class KitTransferForm(BootstrapForm, forms.Form):
    to_custodian = CustodianChoiceField(queryset=User.objects.none(), label="To (recipient)")

    def __init__(self, *args, user, kit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_custodian"].queryset = custodians_of(user).exclude(pk=kit.custodian_id)


class KitReplenishForm(BootstrapForm, forms.Form):
    source = CustodianChoiceField(queryset=User.objects.none(), label="Replacement units from",
                                  help_text="The warehouse (an admin's stock) or the rep's own.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = (custodians_of(user) if user.is_admin
                                          else User.objects.filter(pk=user.pk))
        if not user.is_admin:
            self.fields["source"].initial = user.pk
