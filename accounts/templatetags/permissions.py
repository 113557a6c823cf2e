"""``{% load permissions %}{% if user|can:"record_po" %}…{% endif %}``: templates ask for a named
permission (``accounts.permissions.PERMISSIONS``), never for a role."""

from django import template

from accounts.permissions import has_permission

register = template.Library()


@register.filter
def can(user, permission: str) -> bool:
    return has_permission(user, permission)
