"""Report filters and the few forms that lead to a write (commission plans, mark paid,
Create Stocking Order)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from core.forms import CompactForm
from reporting.selectors.scope import facilities_in_scope, product_lines_for, reps_for

DATE = forms.DateInput(attrs={"type": "date"})
HUNDRED = Decimal(100)


class ReportFilterForm(CompactForm):
    date_from = forms.DateField(label="From", widget=DATE)
    date_to = forms.DateField(label="To", widget=DATE)
    facility = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All facilities"
    )
    product_line = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All product lines"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities_in_scope(user)
        self.fields["product_line"].queryset = product_lines_for(user)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The period starts after it ends.")
        return data


class ReplenishmentForm(CompactForm):
    facility = forms.ModelChoiceField(queryset=None, empty_label="Choose a facility")
    cover_days = forms.IntegerField(
        label="Days of cover wanted", min_value=1, max_value=365, initial=30
    )
    rep = forms.ModelChoiceField(
        label="Representative", queryset=None, required=False,
        empty_label="Choose a rep",
        help_text="The rep whose available devices fill the stocking order.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities_in_scope(user)
        self.fields["rep"].queryset = reps_for(user).filter(is_active=True)


