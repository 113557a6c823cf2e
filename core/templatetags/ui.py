"""Small template helpers for the Bootstrap layout."""

import functools

from django import template
from django.urls import get_script_prefix, reverse

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
