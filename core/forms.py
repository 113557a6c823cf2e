"""What every form shares: Bootstrap classes on its widgets, and a service's errors on the form.

Every form of ours mixes in ``BootstrapForm`` (filter forms: ``CompactForm``); its widgets get the
class their type needs (``form-control``, ``form-select``, ``form-check-input``; ``is-invalid``
when the field has errors) when they render, whether a template writes ``{{ form.x }}`` or
includes ``partials/field.html``. Forms declare no Bootstrap classes themselves; other classes
(``scan-input``, ``me-2``) stay on the widget and are kept.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField

CHECKS = (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)


def widget_class(widget: forms.Widget, *, size: str = "") -> str:
    """The Bootstrap class of a widget ("" for hidden inputs): ``form-select form-select-sm``."""
    if widget.is_hidden:
        return ""
    if isinstance(widget, CHECKS):
        return "form-check-input"
    base = "form-select" if isinstance(widget, forms.Select) else "form-control"
    return f"{base} {base}-{size}" if size else base


class BootstrapBoundField(BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        css = widget_class(widget, size=getattr(self.form, "widget_size", ""))
        if not css:
            return attrs
        if self.errors:
            css += " is-invalid"
        own = attrs.get("class") or widget.attrs.get("class", "")
        attrs["class"] = " ".join(dict.fromkeys(f"{own} {css}".split()))
        return attrs


class BootstrapForm:
    """Mix into a ``forms.Form``/``ModelForm`` (first): its widgets render with Bootstrap classes.
    ``widget_size = "sm"`` gives the small controls of filter bars."""

    bound_field_class = BootstrapBoundField
    widget_size = ""


class CompactForm(BootstrapForm, forms.Form):
    """A filter bar's form (also django-filter's ``Meta.form``): small controls."""

    widget_size = "sm"


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` on the form: errors about one of the form's fields go
    under that field, the rest at the top of the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
