"""Forms of the contract pages: input validation only (the services decide)."""

from django import forms

from consignment.models import Facility
from contracts.models import FacilityGroup
from core.forms import BootstrapForm
from inventory.models import Product, ProductLine

DATE = forms.DateInput(attrs={"type": "date"})


class ContractForm(BootstrapForm, forms.Form):
    name = forms.CharField(max_length=200, error_messages={"required": "Name the contract."})
    facility = forms.ModelChoiceField(
        queryset=Facility.objects.none(), required=False, empty_label="—"
    )
    group = forms.ModelChoiceField(
        queryset=FacilityGroup.objects.none(),
        required=False,
        empty_label="—",
        label="Hospital system",
    )
    valid_from = forms.DateField(label="Valid from", widget=DATE)
    valid_to = forms.DateField(
        label="Valid to", required=False, widget=DATE, help_text="Empty: until further notice."
    )

    def __init__(self, *args, user, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.for_user(user).only("pk", "name")
        self.fields["group"].queryset = FacilityGroup.objects.for_user(user)
        if contract is not None:  # the scope of a contract is fixed: make a new one instead
            del self.fields["facility"], self.fields["group"]


class FacilityGroupForm(BootstrapForm, forms.Form):
    name = forms.CharField(
        max_length=200,
        label="Hospital system",
        error_messages={"required": "Name the hospital system."},
    )
    facilities = forms.ModelMultipleChoiceField(
        queryset=Facility.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facilities"].queryset = Facility.objects.for_user(user).filter(
            group_membership__isnull=True
        )


class ContractPriceForm(BootstrapForm, forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, empty_label="—"
    )
    price = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, label="Contract price"
    )
    product_line = forms.ModelChoiceField(
        queryset=ProductLine.objects.none(), required=False, empty_label="—"
    )
    percent_off = forms.DecimalField(
        max_digits=5, decimal_places=2, required=False, label="% off list"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = (
            Product.objects.for_user(user)
            .only("pk", "reference", "description")
            .order_by("reference")
        )
        self.fields["product_line"].queryset = ProductLine.objects.for_user(user).select_related(
            "manufacturer"
        )


class PriceImportForm(BootstrapForm, forms.Form):
    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )
