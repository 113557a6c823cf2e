"""Small template helpers for the Bootstrap layout."""

import functools

from django import template
from django.forms.utils import flatatt
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe

from core.formatting import format_money, status_member
from core.formatting import status_badge as _status_badge

register = template.Library()


@register.filter
def money(value, currency=None) -> str:
    """An amount with grouping and the currency: ``{{ total|money:currency }}`` → $2,535.00."""
    return format_money(value, currency)


@register.filter
def status_badge(obj):
    """The status of an event, a device or a transfer as a badge in its one colour."""
    return _status_badge(obj)


@register.filter
def status_colour(obj) -> str:
    """The Bootstrap colour of ``obj``'s status, for an alert or a border in the same colour."""
    return status_member(obj).colour



@register.simple_tag
def checkbox_rows(bound_field) -> str:
    """A multiple-choice field's checkboxes as tickable list-group rows, built in Python: the
    same inputs as ``CheckboxSelectMultiple`` (name, value, id, classes, ``checked``), without a
    widget template per choice (a hundred units to pick cost most of a kit page otherwise)."""
    attrs = bound_field.build_widget_attrs(dict(bound_field.field.widget.attrs))
    attrs.pop("id", None)
    common = flatatt(attrs)
    value = bound_field.value()
    checked = {str(v) for v in (value if isinstance(value, (list, tuple)) else [value])
               if v is not None}
    name, auto_id = escape(bound_field.html_name), bound_field.auto_id
    rows = []
    for i, (key, label) in enumerate(bound_field.field.choices):
        key = str(getattr(key, "value", key))
        id_attr = f' id="{escape(auto_id)}_{i}"' if auto_id else ""
        rows.append(
            f'<label class="list-group-item list-group-item-action small"><input type="checkbox"'
            f' name="{name}" value="{escape(key)}"{id_attr}{common}'
            f'{" checked" if key in checked else ""}> {escape(label)}</label>')
    return mark_safe("".join(rows))
@functools.cache
def _url_around_id(name: str, prefix: str) -> tuple[str, str]:
    marker = 987654321987654321
    before, _, after = reverse(name, args=[marker]).partition(str(marker))
    return before, after


@register.filter
def id_url(pk, name: str) -> str:
    """``{% url name pk %}`` for a view taking one integer id, without resolving the URL
    pattern for every row: the URL is reversed once per name (and script prefix) around a
    marker id, then only the id changes:
    ``{{ row.facility_id|id_url:"consignment:facility_detail" }}``."""
    before, after = _url_around_id(name, get_script_prefix())
    return f"{before}{int(pk)}{after}"


@register.simple_tag
def filter_fields(form, *, box: str, label: str, exclude: str = "") -> str:
    """A filter bar's fields, each in its box with its label and errors, as the template loop

        {% for field in form %}<div class="{box}"><label class="{label}"
        for="{{ field.id_for_label }}">{{ field.label }}</label>{{ field }}{% for error in
        field.errors %}<div class="invalid-feedback d-block">{{ error }}</div>{% endfor %}
        </div>{% endfor %}

    writes them (fields named in ``exclude``, comma-separated, left out), without a template
    variable per field (All Inventory's ten fields: ~0.4 ms a page)."""
    skip = set(exclude.split(",")) if exclude else set()
    parts = []
    for field in form:
        if field.name in skip:
            continue
        errors = "".join(f'<div class="invalid-feedback d-block">{conditional_escape(error)}'
                         "</div>" for error in field.errors)
        parts.append(f'<div class="{escape(box)}"><label class="{escape(label)}" '
                     f'for="{conditional_escape(field.id_for_label)}">'
                     f"{conditional_escape(field.label)}</label>{field}{errors}</div>")
    return mark_safe("".join(parts))
