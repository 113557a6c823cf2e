"""Filters of the events list (choices always scoped to the user's organisation)."""

import django_filters
from django import forms

from accounts.models import User
from consignment.models import Facility
from core.forms import CompactForm
from events.models import Event, EventStatus, EventType
from inventory.filters import KeptFormFilterSet, OptionsFilter, option_labels


def _facilities(request):
    return Facility.objects.for_user(request.user).order_by("name")


def _reps(request):
    return User.objects.for_user(request.user).filter(role=User.Role.REP).order_by(
        "first_name", "last_name", "username"
    )


class EventFilterForm(CompactForm):
    """Bootstrap classes and fast selects (core.forms); options read as values."""

    option_labels = staticmethod(option_labels)


class EventFilter(KeptFormFilterSet):
    event_type = django_filters.ChoiceFilter(
        label="Event Type", choices=EventType.choices, empty_label="Any type"
    )
    status = django_filters.ChoiceFilter(choices=EventStatus.choices, empty_label="Any status")
    facility = OptionsFilter(queryset=_facilities, empty_label="Any facility")
    representative = OptionsFilter(queryset=_reps, empty_label="Any rep")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Event
        fields = ["event_type", "status", "facility", "representative", "date_from", "date_to"]
        form = EventFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if getattr(self.request.user, "role", None) == User.Role.REP:
            # A rep sees only their own events: the representative filter would be noise.
            del self.filters["representative"]
