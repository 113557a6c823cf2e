"""Small template helpers of the inventory screens."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from inventory.tables import status_badge

register = template.Library()


@register.simple_tag
def device_status_badge(device):
    return status_badge(device)


@register.simple_tag
def event_link(event):
    """A link to the event's page (plain text until the events screens provide one)."""
    if event is None:
        return ""
    for name in ("events:detail", "events:event_detail"):
        try:
            return format_html('<a href="{}">{}</a>', reverse(name, args=[event.pk]), event)
        except NoReverseMatch:
            continue
    return format_html("{}", event)
