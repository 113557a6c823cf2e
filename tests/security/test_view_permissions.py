"""One permission policy (accounts/permissions.py): every page says which named permission it
needs, or that it is public; services, the lifecycle and the docs read the same table."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.permissions import PERMISSIONS, ensure_permission, has_permission, roles_with
from accounts.roles import UserRole as Role
from inventory.lifecycle import TRANSITIONS
from tests.factories import AdminFactory, ManagerFactory, OrganizationFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent.parent


def views(patterns=None, prefix=""):
    """(route, namespace, callback) of every URL of config/urls.py."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            namespace = entry.namespace or ""
            for route, ns, callback in views(entry.url_patterns, prefix + str(entry.pattern)):
                yield route, ns or namespace, callback
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), "", entry.callback


def test_every_view_needs_a_named_permission_or_says_it_is_public():
    unguarded, unknown, checked = [], [], 0
    for route, namespace, callback in views():
        if namespace == "admin":
            continue  # the Django admin site asks its own has_permission (accounts/admin_site.py)
        checked += 1
        permission = getattr(callback, "permission", None)
        if permission is None and not getattr(callback, "public", False):
            unguarded.append(route)
        elif permission is not None and permission not in PERMISSIONS:
            unknown.append((route, permission))
    assert checked > 50  # the walk found the app's pages
    assert unguarded == [], "add @permission_required(…) or @public"
    assert unknown == []


def test_only_the_sign_in_pages_are_public():
    public = sorted(route for route, ns, callback in views()
                    if ns != "admin" and getattr(callback, "public", False))
    # The recall acknowledgement link is for a facility's contact, who has no account: the
    # signed, expiring token in the URL is its only key (recalls.views.acknowledge_link). The
    # calendar feed: its secret URL is the credential (a calendar app can't sign in).
    assert public == ["accounts/login/", "accounts/logout/", "accounts/password/",
                      "accounts/password/done/", "events/calendar/<str:token>.ics", "healthz",
                      "metrics", "readyz", "recalls/acknowledge/<str:token>/"]


def test_every_permission_is_used_and_every_transition_names_one():
    used = {getattr(cb, "permission", None) for _, _, cb in views()}
    used |= {t.permission for t in TRANSITIONS}
    code = "\n".join(path.read_text(encoding="utf-8") for app in
                     ("accounts", "consignment", "inventory", "events", "commissions", "billing",
                      "recalls", "reporting", "api")
                     for path in (ROOT / app).rglob("*.py"))
    used |= set(re.findall(r'ensure_permission\(\w+, "(\w+)"', code))
    used |= set(re.findall(r'_locked_event\(actor, event, "(\w+)"\)', code))
    templates = "\n".join(p.read_text(encoding="utf-8")
                          for p in (ROOT / "templates").rglob("*.html"))
    used |= set(re.findall(r'\|can:"(\w+)"', templates))
    assert set(PERMISSIONS) - used == set(), "a permission nobody asks for"
    assert used - {None} <= set(PERMISSIONS)


def test_the_table_in_docs_architecture_is_the_table_in_the_code():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| ([a-z, ]+) \|", doc, flags=re.MULTILINE))
    assert {name: rows.get(name) for name in PERMISSIONS} == {
        name: ", ".join(r.label.lower() for r in Role if r in p.roles)
        for name, p in PERMISSIONS.items()
    }


@pytest.mark.django_db
def test_the_services_the_views_and_the_templates_read_the_same_table(client):
    org = OrganizationFactory()
    admin, manager = AdminFactory(organization=org), ManagerFactory(organization=org)
    rep = UserFactory(organization=org)
    assert roles_with("submit_for_billing") == {Role.ADMIN, Role.REP}
    assert [has_permission(u, "record_po") for u in (admin, manager, rep)] == [True, False, False]
    assert rep.can("transfer_devices") and not manager.can("transfer_devices")
    with pytest.raises(PermissionDenied, match=r"^Your role \(Manager\) may not adjust stock\.$"):
        ensure_permission(manager, "adjust_stock")
    with pytest.raises(KeyError):
        has_permission(admin, "adjust_stocks")  # a typo never passes
    rep.is_active = False
    assert not rep.can("view_events")

    client.force_login(manager)
    refused = client.get(reverse("inventory:receiving"))
    assert refused.status_code == 403
    assert "Managers can look at everything but change nothing" in refused.content.decode()
    client.force_login(admin)
    page = client.get(reverse("inventory:device_list")).content.decode()
    assert reverse("inventory:recall_trace") in page  # trace_recalls: admins and managers
    client.force_login(rep)
    page = client.get(reverse("inventory:device_list")).content.decode()
    assert reverse("inventory:recall_trace") not in page
    assert reverse("inventory:receiving") not in page  # the nav link: receive_inventory
