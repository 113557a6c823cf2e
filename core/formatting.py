"""How the app shows money and statuses: one format, one colour per status, everywhere.

Templates use the ``money`` and ``status_badge`` filters (``core/templatetags/ui.py``);
tables and PDFs call these functions. CSV exports keep plain numbers.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.html import format_html
from django.utils.safestring import SafeString

DEFAULT_CURRENCY = "USD"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
CENT = Decimal("0.01")


def format_money(value, currency: str | None = None) -> str:
    """``Decimal("2535")`` → ``"$2,535.00"`` (``"CHF 2,535.00"`` without a symbol)."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    code = (currency or DEFAULT_CURRENCY).upper()
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(code)
    number = f"{abs(amount):,.2f}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code}\u00a0{number}"


def status_member(obj, status: str | None = None):
    """``obj.status`` as its model's ``Status`` member (which carries its label and colour)."""
    return type(obj).Status(status if status is not None else obj.status)


def status_badge(obj, *, status: str | None = None) -> SafeString:
    """A Bootstrap badge of ``obj.status`` in its status's colour (``Status.colour``)."""
    return _badge(type(obj).Status, status if status is not None else obj.status)


@functools.cache
def _badge(statuses, value: str) -> SafeString:
    """One badge per status class and value, built once (a table shows the same few)."""
    member = statuses(value)
    return format_html(
        '<span class="badge text-bg-{}" data-status="{}">{}</span>',
        member.colour, member.value, member.label,
    )
