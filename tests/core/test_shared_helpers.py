"""core/: the one CSV export path, the one way to style a form and to put a service's errors on
it, and the rule that templates ask a user's role through the User properties."""

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from core.exports import Column, csv_download, field, key
from core.forms import BootstrapForm, CompactForm, add_service_errors


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_download_streams_named_columns_and_safe_cells():
    rows = [
        {"name": "=HYPERLINK(\"x\")", "total": Decimal("-12.5"), "count": 3, "paid": True,
         "when": datetime.date(2026, 1, 2), "note": None},
        {"name": "-5 units", "total": Decimal("7.25"), "count": -2, "paid": False,
         "when": None, "note": "@cmd"},
    ]
    columns = [Column("Name", key("name")), Column("Total", key("total")),
               Column("Count", key("count")), Column("Paid", key("paid")),
               Column("When", key("when")), Column("Note", key("note"))]
    response = csv_download("x.csv", columns, iter(rows))
    assert response.streaming and response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert _rows(response) == [
        ["Name", "Total", "Count", "Paid", "When", "Note"],
        # Text that a spreadsheet would run gets a '; numbers stay numbers (a credit is negative).
        ["'=HYPERLINK(\"x\")", "-12.50", "3", "yes", "2026-01-02", ""],
        ["'-5 units", "7.25", "-2", "no", "", "'@cmd"],
    ]


def test_csv_download_reads_named_rows_by_name():
    class Row:
        lot, serial = "L1", "+SN"

    columns = [Column("Serial", field("serial")), Column("Lot", field("lot"))]
    assert _rows(csv_download("x.csv", columns, [Row()])) == [["Serial", "Lot"], ["'+SN", "L1"]]


class _Form(BootstrapForm, forms.Form):
    name = forms.CharField(widget=forms.TextInput(attrs={"class": "scan-input"}))
    kind = forms.ChoiceField(choices=[("a", "A")])
    agree = forms.BooleanField(required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)


class _Filters(CompactForm):
    kind = forms.ChoiceField(choices=[("a", "A")], required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _class(html: str) -> str:
    match = re.search(r'class="([^"]*)"', html)
    return match.group(1) if match else ""


def test_every_widget_gets_the_bootstrap_class_of_its_type():
    form = _Form()
    assert _class(str(form["name"])) == "scan-input form-control"  # its own class is kept
    assert _class(str(form["kind"])) == "form-select"
    assert _class(str(form["agree"])) == "form-check-input"
    assert _class(str(form["secret"])) == ""
    filters = _Filters()
    assert _class(str(filters["kind"])) == "form-select form-select-sm"
    assert _class(str(filters["since"])) == "form-control form-control-sm"


def test_a_service_error_lands_on_its_field_or_on_top():
    form = _Form({"name": "x", "kind": "a"})
    assert form.is_valid()
    add_service_errors(form, ValidationError({"name": "Taken.", "elsewhere": "Refused."}))
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Refused."]
    assert "is-invalid" in _class(str(form["name"]))
    other = _Form({"name": "x", "kind": "a"})
    other.is_valid()
    add_service_errors(other, ValidationError("Not now."))
    assert other.non_field_errors() == ["Not now."]


def test_templates_ask_the_user_for_a_role_never_compare_role_strings():
    root = Path(settings.BASE_DIR) / "templates"
    offenders = [
        str(path.relative_to(root)) for path in root.rglob("*.html")
        if re.search(r"\.role\s*(==|!=|in)\s", path.read_text())
    ]
    assert offenders == []
