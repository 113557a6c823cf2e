from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """A stored fraction shown as a percentage: 0.1250 → "12.5 %"."""
    if value in (None, ""):
        return ""
    pct = (Decimal(value) * 100).quantize(Decimal("0.01")).normalize()
    return f"{pct:f} %"
