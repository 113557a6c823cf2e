"""Small template helpers for the Bootstrap layout."""

from django import template

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

