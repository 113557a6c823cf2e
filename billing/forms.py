"""Forms of the billing screens: input validation only (the services decide)."""

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from billing.po_lines import parse_typed_lines
from billing.selectors import QUEUE_STATUSES
from billing.services import po_upload_max_bytes, validate_po_pdf
from consignment.models import Facility
from core.forms import BootstrapForm, CompactForm
from events.models import EventStatus

BILLING_STATUSES = [(value, EventStatus(value).label) for value in QUEUE_STATUSES]


PO_LINES_HELP = ("Optional. One line per product: reference, quantity, unit price "
                 "(e.g. “REF-1001, 2, 850.00”). Without lines, they are read from the PDF where "
                 "its text allows.")


class PurchaseOrderLinesMixin(forms.Form):
    """The PO's total and lines (billing.po_lines parses the lines; the service decides)."""

    total = forms.DecimalField(
        label="PO total", required=False, max_digits=14, decimal_places=2, min_value=0,
        help_text="Compared with the sales order's total.",
    )
    lines = forms.CharField(
        label="PO lines", required=False, max_length=20_000, help_text=PO_LINES_HELP,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
    )

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id = organization_id

    def clean_lines(self):
        try:
            return parse_typed_lines(organization_id=self.organization_id,
                                     text=self.cleaned_data.get("lines", ""))
        except ValidationError as error:  # {"lines": [...]}: this field's own errors
            raise ValidationError(error.message_dict.get("lines", error.messages)) from None


class PurchaseOrderCorrectForm(BootstrapForm, PurchaseOrderLinesMixin):
    pass


class PurchaseOrderForm(BootstrapForm, PurchaseOrderLinesMixin):
    number = forms.CharField(
        label="PO number", max_length=100, strip=True,
        error_messages={"required": "Enter the facility's PO number."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    pdf_file = forms.FileField(
        label="PO (PDF, optional)", required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    field_order = ["number", "total", "lines", "pdf_file"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pdf_file"].help_text = (
            f"PDF only, at most {po_upload_max_bytes() / 1048576:.0f} MB."
        )

    def clean_pdf_file(self):
        upload = self.cleaned_data.get("pdf_file")
        if upload:
            validate_po_pdf(upload)
        return upload


class BillingQueueFilterForm(CompactForm):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *BILLING_STATUSES], required=False,
    )
    facility = forms.ModelChoiceField(
        queryset=Facility.objects.none(), required=False, empty_label="Any facility",
    )
    rep = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Any representative",
        label="Representative",
    )
    date_from = forms.DateField(
        required=False, label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        required=False, label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.for_user(user).only("pk", "name")
        self.fields["rep"].queryset = User.objects.for_user(user).filter(role=User.Role.REP)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("“From” must be on or before “To”.")
        return data
