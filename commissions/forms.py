"""Commission forms: plans (percentages shown, fractions stored); a statement's rep and period."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from accounts.selectors import reps_for
from core.forms import BootstrapForm, CompactForm
from inventory.selectors import product_lines_for

DATE = forms.DateInput(attrs={"type": "date"})
HUNDRED = Decimal(100)


class PercentField(forms.DecimalField):
    """Shown as a percentage (12.5), stored as a fraction (0.1250)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=100, max_digits=5, decimal_places=2,
                         widget=forms.NumberInput(attrs={"step": "0.01"}), **kwargs)


class CommissionPlanForm(BootstrapForm, forms.Form):
    rep = forms.ModelChoiceField(queryset=None, required=False, empty_label="Every rep")
    product_line = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Every product line",
    )
    rate = PercentField(label="Rate (%)")
    stocking_share = PercentField(
        label="Stocking share (%)", initial=100,
        help_text="Paid to the selling rep when a stocking order is submitted; the rest goes to "
        "the covering rep when the device is used.",
    )

    def __init__(self, *args, user, plan=None, **kwargs):
        if plan is not None:
            kwargs.setdefault("initial", {
                "rep": plan.rep_id, "product_line": plan.product_line_id,
                "rate": (plan.rate * HUNDRED).normalize(),
                "stocking_share": (plan.stocking_share * HUNDRED).normalize(),
            })
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reps_for(user)
        self.fields["product_line"].queryset = product_lines_for(user)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "rep": data["rep"], "product_line": data["product_line"],
            "rate": (data["rate"] / HUNDRED).quantize(Decimal("0.0001")),
            "stocking_share": (data["stocking_share"] / HUNDRED).quantize(Decimal("0.0001")),
        }


class StatementForm(CompactForm):
    rep = forms.ModelChoiceField(queryset=None, empty_label=None)
    date_from = forms.DateField(label="From", widget=DATE)
    date_to = forms.DateField(label="To", widget=DATE)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reps_for(user)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The period starts after it ends.")
        return data
