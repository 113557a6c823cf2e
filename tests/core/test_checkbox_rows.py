"""``checkbox_rows`` builds a multiple-choice field's checkboxes in Python: each input must be the
one Django's own ``CheckboxSelectMultiple`` renders (name, value, id, classes, checked, and the
invalid state after a bad submit)."""

from __future__ import annotations

import pytest
from django import forms
from django.utils.html import escape

from core.forms import BootstrapForm
from core.templatetags.ui import checkbox_rows

pytestmark = pytest.mark.django_db


class PickForm(BootstrapForm, forms.Form):
    units = forms.MultipleChoiceField(
        choices=[("1", "Screw <5.5>"), ("2", "Plate & co"), ("3", "Rod")],
        widget=forms.CheckboxSelectMultiple, required=True)


@pytest.mark.parametrize("data", [None, {"units": ["2", "3"]}, {"units": ["9"]}, {}])
def test_each_input_is_the_widgets_own(data):
    form = PickForm(data)
    if data is not None:
        form.is_valid()
    html = checkbox_rows(form["units"])
    for choice in form["units"]:
        assert f"{choice.tag()} {escape(choice.choice_label)}</label>" in html
    assert html.count("<label ") == 3
    assert html.count(" checked") == len({"2", "3"} & set((data or {}).get("units", [])))
