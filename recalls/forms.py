"""Input validation of the recall pages (the rules are the services')."""

from __future__ import annotations

import re

from django import forms

from core.forms import BootstrapForm
from inventory.models import Manufacturer, Product, Recall, RecallScope


class RecallForm(BootstrapForm, forms.Form):
    manufacturer = forms.ModelChoiceField(queryset=Manufacturer.objects.none())
    reference = forms.CharField(max_length=64, help_text="The manufacturer's recall number.")
    recall_class = forms.ChoiceField(label="Class", choices=Recall.Class.choices)
    action = forms.ChoiceField(choices=Recall.Action.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    scope = forms.ChoiceField(
        choices=RecallScope.choices, widget=forms.RadioSelect, initial=RecallScope.LOTS
    )
    lots = forms.CharField(
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Lots scope: one or more lot numbers (one a line, or separated by commas).",
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(),
        required=False,
        help_text="Required for a product and expiry window; narrows lots and serial ranges.",
    )
    serial_from = forms.CharField(required=False, max_length=64, label="First serial")
    serial_to = forms.CharField(required=False, max_length=64, label="Last serial")
    expiry_from = forms.DateField(
        required=False, label="Expiring from", widget=forms.DateInput(attrs={"type": "date"})
    )
    expiry_to = forms.DateField(
        required=False, label="Expiring to", widget=forms.DateInput(attrs={"type": "date"})
    )
    notice = forms.FileField(
        required=False,
        label="Notice PDF",
        help_text="The manufacturer's notice (PDF, at most 10 MB).",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manufacturer"].queryset = Manufacturer.objects.for_user(user).order_by("name")
        self.fields["product"].queryset = Product.objects.for_user(user).order_by("reference")

    def clean_lots(self) -> list[str]:
        return [
            lot
            for lot in (s.strip() for s in re.split(r"[\n,;]", self.cleaned_data["lots"]))
            if lot
        ]

    def clean_notice(self):
        notice = self.cleaned_data.get("notice")
        if notice is not None:
            head = notice.read(5)
            notice.seek(0)
            if head != b"%PDF-":
                raise forms.ValidationError("The notice must be a PDF file.")
        return notice


class AcknowledgeForm(BootstrapForm, forms.Form):
    name = forms.CharField(
        max_length=200, label="Your name", help_text="Who acknowledges the recall for the facility."
    )
