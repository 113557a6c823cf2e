"""Scheduled-case pieces other pages show: a case's inventory requests (the event page) and the
upcoming cases whose rep lacks the requested stock (the home page and the dashboard).

``{% load schedule %}{% case_requests event as requests %}`` /
``{% short_cases user as flagged %}``."""

from django import template
from django.utils import timezone

from events import request_selectors

register = template.Library()


@register.simple_tag
def case_requests(event) -> list:
    if not getattr(event, "is_case", False):
        return []
    return request_selectors.event_requests(event=event)


@register.simple_tag
def short_cases(user) -> list:
    return request_selectors.upcoming_short_cases(user=user, today=timezone.localdate())
