"""``{% load permissions %}{% if user|can:"record_po" %}…{% endif %}``: templates ask for a named
permission (``accounts.permissions.PERMISSIONS``), never for a role."""

from django import template
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe

from accounts.permissions import has_permission

register = template.Library()


@register.filter
def can(user, permission: str) -> bool:
    return has_permission(user, permission)


# (script prefix, role, active, URL namespace, URL name) → the links' HTML. Roles × named URLs:
# a few hundred entries at most.
_NAV_LINKS: dict[tuple, str] = {}


@register.simple_tag(takes_context=True)
def nav_links(context) -> str:
    """The main navigation's links (``partials/nav_links.html``): which links show depends on
    the user's role (the permissions it holds), which one is active on the page's URL name, and
    every address on the script prefix — nothing else, so they are rendered once per such key
    and kept per process (about twenty ``{% url %}`` and permission checks a page otherwise)."""
    request, user = context.get("request"), context.get("user")
    match = getattr(request, "resolver_match", None)
    section, name = (match.namespace, match.url_name) if match is not None else ("", "")
    key = (get_script_prefix(), getattr(user, "role", None), getattr(user, "is_active", False),
           section, name)
    html = _NAV_LINKS.get(key)
    if html is None:
        html = render_to_string("partials/nav_links.html",
                                {"user": user, "section": section, "name": name})
        if len(_NAV_LINKS) < 4096:
            _NAV_LINKS[key] = html
    return mark_safe(html)
