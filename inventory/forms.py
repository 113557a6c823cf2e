"""Forms of the inventory screens: input validation only; the services apply the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from consignment.models import Facility
from core.forms import BootstrapForm
from core.http import int_id
from inventory import selectors
from inventory.importing import CSV_COLUMNS
from inventory.labels import looks_like_label, parse_label, parse_product_code
from inventory.models import Device, Manufacturer, Product, StockAdjustment, StockAdjustmentLine

# The one empty option of a select that needs an answer (filters say "Any …" instead).
CHOOSE = "Choose…"


class CustodianChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", CHOOSE)
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        return f"{obj} ({obj.username}, {obj.get_role_display()})"


class DeviceCheckboxes(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def clean(self, value):
        # Only ids reach the query and the services: a number over bigint, saved as an id or
        # cast to bigint, is a PostgreSQL DataError (a 500); here it is an invalid choice.
        for pk in value if isinstance(value, (list, tuple)) else ():
            if int_id(pk) is None:
                raise ValidationError(self.error_messages["invalid_choice"],
                                      code="invalid_choice", params={"value": pk})
        return super().clean(value)

    def label_from_instance(self, obj):
        return (f"{obj.label} · {obj.product.reference} {obj.product.description} · lot {obj.lot}"
                f" · exp {obj.expiration_date}")


def custodians_of(user) -> forms.models.QuerySet:
    return User.objects.for_user(user).filter(is_active=True).exclude(role=User.Role.MANAGER)


def _lines(text: str) -> list[str]:
    # split on newlines only: str.splitlines would also split on the GS of a raw scanned label
    return [line.strip() for line in (text or "").replace("\r", "").split("\n") if line.strip()]


class TransferForm(BootstrapForm, forms.Form):
    from_custodian = CustodianChoiceField(
        queryset=User.objects.none(), label="From (custodian)", required=False
    )
    devices = DeviceCheckboxes(queryset=Device.objects.none(), label="Devices")
    to_custodian = CustodianChoiceField(queryset=User.objects.none(), label="To (recipient)")
    accept_now = forms.BooleanField(
        label="Accept at once", required=False, initial=True,
        help_text="Off: the devices are in transit until the recipient accepts.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        custodians = custodians_of(user)
        self.fields["to_custodian"].queryset = custodians
        if user.role == User.Role.ADMIN:
            self.fields["from_custodian"].queryset = custodians
            self.fields["from_custodian"].required = True
            source = self._source_custodian(custodians)
        else:
            del self.fields["from_custodian"]
            del self.fields["accept_now"]
            source = user
        self.source = source
        if source is not None:  # never offer the sender as the recipient
            self.fields["to_custodian"].queryset = custodians.exclude(pk=source.pk)
        self.fields["devices"].widget.attrs["class"] = "me-2"
        self.fields["devices"].queryset = (
            selectors.transferable_devices(user=user, custodian=source)
            if source is not None else Device.objects.none()
        )

    def _source_custodian(self, custodians):
        raw = self.data.get("from_custodian") or self.initial.get("from_custodian")
        if not raw:
            return None
        try:
            return custodians.get(pk=getattr(raw, "pk", raw))
        except (User.DoesNotExist, ValueError, TypeError):
            return None

    def clean(self):
        cleaned = super().clean()
        to = cleaned.get("to_custodian")
        if to is not None and self.source is not None and to.pk == self.source.pk:
            self.add_error("to_custodian", "Choose another custodian than the sender.")
        return cleaned


class DeclineForm(BootstrapForm, forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why do you decline?"}),
    )


class AdjustmentForm(BootstrapForm, forms.Form):
    devices = forms.CharField(
        label="Devices",
        widget=forms.Textarea(attrs={"rows": 5, "class": "scan-input",
                                     "data-scan-camera": "append", "data-scan-continuous": "",
                                     "placeholder": "One serial number or scanned label a line"}),
        help_text="Scan labels or type serial numbers, one a line. Facility stock included.",
    )
    reason = forms.ChoiceField(choices=[("", CHOOSE), *StockAdjustment.Reason.choices])
    effect = forms.ChoiceField(
        choices=[("", CHOOSE), *StockAdjustmentLine.Effect.choices],
        help_text="No default: say what happens to the devices. It must match the reason "
                  "(“Found” restores, “Lost” removes).",
    )
    to_facility = forms.ModelChoiceField(
        queryset=Facility.objects.none(), required=False, label="To facility", empty_label=CHOOSE,
        help_text="For “Move to another facility”; for restoring sold devices (optional).",
    )
    to_custodian = CustodianChoiceField(
        queryset=User.objects.none(), required=False, label="Restore to custodian",
        help_text="Optional: by default a removed device returns to where it was.",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["to_facility"].queryset = Facility.objects.for_user(user)
        self.fields["to_custodian"].queryset = custodians_of(user)

    def clean_devices(self):
        found, errors = [], []
        for number, text in enumerate(_lines(self.cleaned_data["devices"]), start=1):
            if looks_like_label(text):
                try:
                    parse_label(text)
                except ValidationError as exc:
                    errors.extend(f"Line {number}: {m}" for m in exc.messages)
                    continue
            matches = selectors.device_resolve(user=self.user, text=text)
            if not matches:
                errors.append(f"Line {number}: no device {text!r} in your inventory.")
            elif len(matches) > 1:
                errors.append(f"Line {number}: {text!r} names several devices; scan the label.")
            elif matches[0].pk in {d.pk for d in found}:
                errors.append(f"Line {number}: {matches[0].label} is listed twice.")
            else:
                found.append(matches[0])
        if errors:
            raise ValidationError(errors)
        if not found:
            raise ValidationError("Add at least one device.")
        return found

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("effect") == StockAdjustmentLine.Effect.MOVE_TO_FACILITY
                and not cleaned.get("to_facility")):
            self.add_error("to_facility", "Choose the facility to move the devices to.")
        return cleaned


class ReceiveForm(BootstrapForm, forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), empty_label=CHOOSE)
    lot = forms.CharField(max_length=64)
    expiration_date = forms.DateField(
        label="Expiry", widget=forms.DateInput(attrs={"type": "date"})
    )
    serials = forms.CharField(
        label="Serial numbers", widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One serial number a line.",
    )
    custodian = CustodianChoiceField(queryset=User.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.for_user(user).select_related(
            "product_line"
        )
        self.fields["custodian"].queryset = custodians_of(user)

    def clean_serials(self):
        serials = _lines(self.cleaned_data["serials"])
        if not serials:
            raise ValidationError("Enter at least one serial number.")
        return serials


class ScanReceiveForm(BootstrapForm, forms.Form):
    """Scanned labels accumulate in ``labels`` (one a line); each becomes one device."""

    use_required_attribute = False  # "Add" submits before a custodian is chosen

    labels = forms.CharField(widget=forms.HiddenInput, required=False)
    custodian = CustodianChoiceField(queryset=User.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["custodian"].queryset = custodians_of(user)

    def clean_labels(self):
        labels = _lines(self.cleaned_data["labels"])
        if not labels:
            raise ValidationError("Scan at least one label.")
        return labels


class CsvUploadForm(BootstrapForm, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, header row: " + ",".join(CSV_COLUMNS) + " (dates YYYY-MM-DD, "
        "custodian = username).",
    )
    dry_run = forms.BooleanField(label="Check only (write nothing)", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"


class RecallForm(BootstrapForm, forms.Form):
    manufacturer = forms.ModelChoiceField(
        queryset=Manufacturer.objects.none(), required=False, empty_label="Any manufacturer"
    )
    lot = forms.CharField(max_length=64, required=False)
    gtin = forms.CharField(label="GTIN or HIBC code", max_length=24, required=False,
                           help_text="14 digits, or + labeler code, catalogue number, unit")
    label = forms.CharField(
        label="Or scan a label", required=False,
        widget=forms.TextInput(attrs={"class": "scan-input", "autocomplete": "off",
                                      "data-scan-camera": "submit"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["manufacturer"].queryset = Manufacturer.objects.for_user(user)

    def clean(self):
        cleaned = super().clean()
        label = cleaned.get("label")
        org = self.user.organization_id
        if label:
            try:
                parsed = parse_label(label)
                cleaned["product"] = selectors.product_for_label(organization_id=org,
                                                                 label=parsed)
            except ValidationError as exc:
                self.add_error("label", exc)
                return cleaned
            cleaned["gtin"] = ""
            cleaned["lot"] = parsed.lot or cleaned.get("lot", "")
        elif (cleaned.get("gtin") or "").startswith("+"):  # a HIBC product code
            code = cleaned["gtin"]
            try:
                parse_product_code(code)
            except ValidationError as exc:
                self.add_error("gtin", exc)
                return cleaned
            product = selectors.products_for_codes(organization_id=org, codes=[code]).get(code)
            if product is None:
                self.add_error("gtin", f"Unknown HIBC product {code}: no product in your "
                               "catalogue has it.")
                return cleaned
            cleaned["gtin"], cleaned["product"] = "", product
        if not cleaned.get("gtin") and not cleaned.get("lot") and not cleaned.get("product"):
            raise ValidationError("Enter a lot (with its manufacturer), a GTIN, or scan a label.")
        if (cleaned.get("lot") and not cleaned.get("gtin") and not cleaned.get("product")
                and not cleaned.get("manufacturer")):
            # Lot numbers are the manufacturer's: a lot only one of them made needs no choice.
            makers = selectors.lot_manufacturers(organization_id=org, lot=cleaned["lot"])
            if len(makers) == 1:
                cleaned["manufacturer"] = makers[0]
            elif makers:
                names = " and ".join(m.name for m in makers)
                self.add_error("manufacturer", f"Lot {cleaned['lot']} is a lot of {names}: "
                               "choose the manufacturer.")
            else:
                self.add_error("lot", f"No device of lot {cleaned['lot']} in your inventory.")
        return cleaned

