"""All Inventory filters. Every choice list is scoped to the user's organisation."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils.html import escape
from django.utils.safestring import mark_safe

from accounts.models import User
from consignment.models import Facility
from core.forms import CompactForm, ScopedModelChoiceField
from core.http import int_id
from core.options import cached_for_organisation, cached_options, kept_form_class
from inventory.models import (
    ACTIVE_STATUSES,
    Device,
    DeviceStatus,
    Manufacturer,
    Product,
    ProductLine,
)
from inventory.selectors import user_label

DEACTIVATED = (DeviceStatus.CONSUMED, DeviceStatus.REMOVED)


def _org_choices(model):
    def queryset(request):
        if request is None:
            return model.objects.none()
        return model.objects.for_user(request.user)

    return queryset


def _custodians(request):
    if request is None:
        return User.objects.none()
    return User.objects.for_user(request.user).exclude(role=User.Role.MANAGER)


def option_labels(queryset, *, scope: tuple | None = None):
    """(pk, label) for each row of a choice queryset, read as values: the label is the model's
    ``str()`` (tests/inventory/test_scale_indexes.py checks they agree), without building a
    model instance per option. Kept per process under the organisation's options version
    (``core.options``): a filter bar reads its lists once until one of their rows changes;
    ``scope`` names the queryset (``OptionsFilter``)."""
    return cached_options(queryset, _option_rows, scope=scope)


def _option_rows(queryset):
    model = queryset.model
    if model is Product:
        return ((pk, f"{reference} – {description}") for pk, reference, description
                in queryset.values_list("pk", "reference", "description"))
    if model is User:  # User.__str__: the full name, else the username
        return ((pk, user_label(first, last, username)) for pk, first, last, username
                in queryset.values_list("pk", "first_name", "last_name", "username"))
    return queryset.values_list("pk", "name")  # Facility, Manufacturer, ProductLine


def _datalist_options(queryset) -> str:
    return "".join(f'<option value="{escape(label)}"></option>'
                   for _, label in _option_rows(queryset))


class ProductDatalist(forms.TextInput):
    """A text box that suggests the catalogue as you type (a ``<datalist>`` of "reference –
    description"), instead of a dropdown of hundreds of products."""

    def __init__(self, attrs=None):
        super().__init__({"placeholder": "Catalogue number or description",
                          "autocomplete": "off", **(attrs or {})})
        self.queryset = Product.objects.none()
        self.options_scope = None  # the field's (ProductSearchField)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {}), "list": f"{name}-options"}
        box = super().render(name, value, attrs, renderer)
        options = cached_for_organisation(self.queryset.order_by("reference"), _datalist_options,
                                          name="product-datalist", scope=self.options_scope)
        return mark_safe(f'{box}<datalist id="{escape(name)}-options">{options}</datalist>')


class ProductSearchField(ScopedModelChoiceField):
    """A product by its catalogue number, typed or picked ("MS-00001 – Polyaxial …" or
    "ms-00001"); a link may name it by id (the reports' rows)."""

    widget = ProductDatalist

    def __init__(self, *args, **kwargs):
        kwargs.pop("empty_label", None)
        super().__init__(*args, empty_label=None, **kwargs)

    def _set_queryset(self, queryset):
        super()._set_queryset(queryset)
        self.widget.queryset = self.queryset

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def _scope_changed(self, scope):
        self.widget.options_scope = scope

    def prepare_value(self, value):
        if isinstance(value, Product):
            return str(value)
        pk = int_id(value) if isinstance(value, int | str) else None
        if pk is not None and str(value).isdigit():
            product = self.queryset.filter(pk=pk).first()
            return str(product) if product else value
        return value

    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return None
        reference = text.split(" – ", 1)[0].strip()
        product = self.queryset.filter(reference__iexact=reference).first()
        if product is None and text.isdigit() and int_id(text) is not None:
            product = self.queryset.filter(pk=int_id(text)).first()
        if product is None:
            raise forms.ValidationError(f"No product {text!r} in your catalogue.")
        return product


class OptionsFilter(django_filters.ModelChoiceFilter):
    """A model choice filter whose ``queryset`` is a function of the request's user alone (the
    organisation's rows, as ``for_user`` narrows them): its field is named (filter set, filter,
    user) for the option lists kept per process (``core.options``), which then find the list
    without compiling its SQL. Whatever else changes the user's list (their role, their region,
    a row of the list) raises the organisation's options version."""

    field_class = ScopedModelChoiceField

    @property
    def field(self):
        built = hasattr(self, "_field")
        field = super().field
        if not built:
            user = getattr(self.get_request(), "user", None)
            if getattr(user, "is_authenticated", False):
                field.options_scope = (type(self.parent).__qualname__, self.field_name,
                                       self.lookup_expr, user.pk)
        return field


class ProductFilter(OptionsFilter):
    field_class = ProductSearchField


class KeptFormFilterSet(django_filters.FilterSet):
    """A filter set whose choices depend on the request's user alone (``OptionsFilter``): its
    form class (each filter's field and queryset) is built once per user and organisation
    options version and kept per process (``core.options.kept_form_class``); each request's
    form copies its fields from it, as every Django form does from its class."""

    def get_form_class(self):
        user = getattr(self.request, "user", None)
        if not getattr(user, "is_authenticated", False):
            return super().get_form_class()
        return kept_form_class((type(self), tuple(self.filters), user.pk),
                               super().get_form_class)


class DeviceFilterForm(CompactForm):
    """Bootstrap classes and fast selects (core.forms); options read as values."""

    option_labels = staticmethod(option_labels)


class DeviceFilter(KeptFormFilterSet):
    """Status, where, what, and "Show deactivated" (off: active devices only)."""

    status = django_filters.ChoiceFilter(
        choices=DeviceStatus.choices, empty_label="Any status", method="filter_status_noop",
        label="Status",
    )
    facility = OptionsFilter(
        queryset=_org_choices(Facility), empty_label="Any facility", label="Facility"
    )
    custodian = OptionsFilter(
        queryset=_custodians, empty_label="Anyone", label="Custodian"
    )
    manufacturer = OptionsFilter(
        field_name="product__product_line__manufacturer",
        queryset=_org_choices(Manufacturer), empty_label="Any manufacturer",
        label="Manufacturer",
    )
    product_line = OptionsFilter(
        field_name="product__product_line", queryset=_org_choices(ProductLine),
        empty_label="Any product line", label="Product line",
    )
    product = ProductFilter(queryset=_org_choices(Product), label="Product")
    lot = django_filters.CharFilter(lookup_expr="iexact", label="Lot")
    serial = django_filters.CharFilter(lookup_expr="istartswith", label="Serial")
    expiring_before = django_filters.DateFilter(
        field_name="expiration_date", lookup_expr="lt", label="Expiring before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    show_deactivated = django_filters.BooleanFilter(
        label="Show deactivated", method="filter_status_noop", widget=forms.CheckboxInput
    )

    class Meta:
        model = Device
        fields = []
        form = DeviceFilterForm

    def filter_status_noop(self, queryset, name, value):
        return queryset  # status and "Show deactivated" are applied together in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        return filter_by_status(
            queryset, status=data.get("status") or "", show_deactivated=bool(
                data.get("show_deactivated"))
        )


def filter_by_status(queryset, *, status: str, show_deactivated: bool):
    """Without "Show deactivated" only active devices are listed.

    "Facility stock" with "Show deactivated" adds the facility stock already used in cases
    (consumed devices sold by a stocking order), as in the help article. Choosing Consumed or
    Removed shows those whatever the checkbox says.
    """
    if status == DeviceStatus.FACILITY_STOCK:
        if show_deactivated:
            return queryset.filter(
                Q(status=DeviceStatus.FACILITY_STOCK)
                # Sold by one event (the stocking order), used by another (the case).
                | Q(status=DeviceStatus.CONSUMED, sold_on__isnull=False)
                & ~Q(sold_on=F("used_in"))
            )
        return queryset.filter(status=status)
    if status:
        return queryset.filter(status=status)
    if not show_deactivated:
        return queryset.filter(status__in=ACTIVE_STATUSES)
    return queryset
