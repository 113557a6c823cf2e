"""Small template helpers for the Bootstrap layout."""

from django import forms, template

from core.formatting import format_money
from core.formatting import status_badge as _status_badge

register = template.Library()


@register.filter
def money(value, currency=None) -> str:
    """An amount with grouping and the currency: ``{{ total|money:currency }}`` → $2,535.00."""
    return format_money(value, currency)


@register.filter
def status_badge(obj):
    """The status of an event or a device as a badge in its one colour."""
    return _status_badge(obj)


@register.filter
def bs(bound_field):
    """Render a form field's widget with the Bootstrap class its type needs."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    classes = dict.fromkeys(f"{widget.attrs.get('class', '')} {css}".split())
    return bound_field.as_widget(attrs={"class": " ".join(classes)})
