"""What every form shares: Bootstrap classes on its widgets, and a service's errors on the form.

Every form of ours mixes in ``BootstrapForm`` (filter forms: ``CompactForm``); its widgets get the
class their type needs (``form-control``, ``form-select``, ``form-check-input``; ``is-invalid``
when the field has errors) when they render, whether a template writes ``{{ form.x }}`` or
includes ``partials/field.html``. Forms declare no Bootstrap classes themselves; other classes
(``scan-input``, ``me-2``) stay on the widget and are kept.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from html import escape

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe

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


# Dates every form accepts: a year like 9999 is a typo or a probe, and its day after (a report's
# end of period) does not even exist in Python (OverflowError).
EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2999, 12, 31)


class BootstrapForm:
    """Mix into a ``forms.Form``/``ModelForm`` (first): its widgets render with Bootstrap classes.
    ``widget_size = "sm"`` gives the small controls of filter bars. Every date field refuses,
    with a message, a date before 1900 or after 2999."""

    bound_field_class = BootstrapBoundField
    widget_size = ""

    def _clean_fields(self):
        super()._clean_fields()
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if (isinstance(field, forms.DateField) and isinstance(value, datetime.date)
                    and not EARLIEST_DATE <= value <= LATEST_DATE):
                # Said above the form (filter bars show no field errors), and the date dropped.
                del self.cleaned_data[name]
                self.add_error(None, f"{field.label or name.capitalize()} {value:%d %b %Y} is "
                                     f"out of range: choose a date between "
                                     f"{EARLIEST_DATE:%d %b %Y} and {LATEST_DATE:%d %b %Y}.")


class ScopedModelChoiceField(forms.ModelChoiceField):
    """A model choice field whose rows are named by ``options_scope``, set by whoever built its
    queryset from the request alone (``inventory.filters.OptionsFilter``: the filter set, the
    filter and the user): its option list kept per process (``core.options``) is then found by
    that name, without compiling the queryset's SQL on every page. Giving the field another
    queryset forgets the name; a copy of the field (each form's own) keeps it, with a copy of
    the same queryset. ``_scope_changed`` tells the widget, if it reads options itself."""

    _options_scope: tuple | None = None

    @property
    def options_scope(self) -> tuple | None:
        return self._options_scope

    @options_scope.setter
    def options_scope(self, scope: tuple | None) -> None:
        self._options_scope = scope
        self._scope_changed(scope)

    def _scope_changed(self, scope: tuple | None) -> None:
        pass

    def _set_queryset(self, queryset):
        super()._set_queryset(queryset)
        self.options_scope = None

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)  # sets a copy of the queryset: forgets the name
        result.options_scope = self.options_scope
        return result


class FastSelect(forms.Select):
    """A <select> rendered in Python: the same HTML as ``forms.Select`` (but for whitespace),
    without a template per option. A model field's options come from ``option_labels`` when
    the form sets it (read as values, no model instance per option), else from the field's
    ``label_from_instance``. A catalogue of hundreds of products otherwise costs tens of ms
    per page."""

    option_labels: Callable[..., Iterable[tuple[object, str]]] | None = None

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        selected = set(self.format_value(value))  # as forms.Select: None selects the "" choice
        choices = self.choices
        if isinstance(choices, ModelChoiceIterator):
            field = choices.field
            rows = (self.option_labels(field.queryset,
                                       scope=getattr(field, "options_scope", None))
                    if self.option_labels else
                    ((obj.pk, field.label_from_instance(obj)) for obj in field.queryset))
            choices = [("", field.empty_label), *rows] if field.empty_label is not None else rows
        options = "".join(
            f'<option value="{escape(str(key))}"'
            f'{" selected" if str(key) in selected else ""}>{escape(str(label))}</option>'
            for key, label in choices
        )
        return mark_safe(f'<select name="{escape(name)}"{flatatt(attrs)}>{options}</select>')


class CompactForm(BootstrapForm, forms.Form):
    """A filter bar's form (also django-filter's ``Meta.form``): small controls, and every
    single <select> rendered by ``FastSelect`` (its model options read by
    ``option_labels(queryset, scope=…)``, when set)."""

    widget_size = "sm"
    option_labels: Callable[..., Iterable[tuple[object, str]]] | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if type(widget) is forms.Select:  # not SelectMultiple, RadioSelect, …
                fast = FastSelect(attrs=dict(widget.attrs))
                fast.choices = widget.choices
                fast.option_labels = type(self).option_labels
                field.widget = fast


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` on the form: errors about one of the form's fields go
    under that field, the rest at the top of the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
