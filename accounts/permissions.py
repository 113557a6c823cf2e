"""Who may do what, declared once: ``PERMISSIONS`` names each permission and the roles that hold
it. Everything that asks reads this table:

- views: ``@permission_required("submit_for_billing")`` (``accounts.decorators``);
- services: ``ensure_permission(actor, "adjust_stock")``;
- the device lifecycle: each ``Transition`` names its permission (``inventory.lifecycle``);
- templates: ``{% load permissions %}{% if user|can:"record_po" %}``, Python ``user.can("…")``.

The table lives in accounts, not core: it names ``User.Role`` members, which core (below accounts)
may not import, and every app that checks a permission (consignment and up) sits above accounts.
The finer rules (a rep edits only their own events, answers only transfers to them) stay in the
services' own predicates (``events.services.can_edit``, ``inventory.services.can_answer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from accounts.roles import UserRole as Role


@dataclass(frozen=True)
class Permission:
    name: str
    roles: frozenset[str]
    action: str  # what a refused person reads: "Your role (Rep) may not {action}."


# Reading: everyone, a regional manager within their region (``consignment.regions``).
EVERYONE = frozenset({Role.ADMIN, Role.MANAGER, Role.REGIONAL_MANAGER, Role.REP})
# Commission statements, recalls and the API: not for regional managers yet (a statement is one
# rep's or the organisation's, a recall's page names every holder; an API token would read beside
# the region's scope).
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
WRITERS = frozenset({Role.ADMIN, Role.REP})  # managers read everything and change nothing
OVERSIGHT = frozenset({Role.ADMIN, Role.MANAGER})  # the whole organisation's books
ADMINS = frozenset({Role.ADMIN})

PERMISSIONS: dict[str, Permission] = {p.name: p for p in (
    # Reading (what each role sees within it is the selectors' ``for_user``).
    Permission("view_inventory", EVERYONE, "see the inventory"),
    Permission("view_facilities", EVERYONE, "see facilities"),
    Permission("view_events", EVERYONE, "see events"),
    Permission("view_documents", EVERYONE, "download billing documents"),
    Permission("view_reports", EVERYONE, "see reports"),
    Permission("view_commissions", STAFF, "see commission statements"),
    Permission("view_billing", OVERSIGHT, "see the billing queue"),
    Permission("view_commission_plans", OVERSIGHT, "see commission plans"),
    Permission("view_adjustments", OVERSIGHT, "see stock adjustments"),
    Permission("view_contracts", OVERSIGHT, "see contracts"),
    Permission("trace_recalls", OVERSIGHT, "trace recalls"),
    Permission("view_recalls", STAFF, "see recalls"),
    Permission("open_settings", OVERSIGHT, "open the settings"),
    # Field work: admins and reps.
    Permission("create_events", WRITERS, "create events"),
    Permission("edit_events", WRITERS, "change events"),
    Permission("submit_for_billing", WRITERS, "submit events for billing"),
    Permission("transfer_devices", WRITERS, "transfer inventory"),
    Permission("add_facility_contacts", WRITERS, "add facility contacts"),
    Permission("manage_directories", WRITERS, "add surgeons and procedures"),
    Permission("request_inventory", WRITERS, "request inventory for a case"),
    Permission("manage_kits", WRITERS, "build, move, loan or check in kits"),
    Permission("acknowledge_recalls", WRITERS, "record a facility's recall acknowledgement"),
    # The office: admins.
    Permission("receive_inventory", ADMINS, "receive inventory"),
    Permission("adjust_stock", ADMINS, "adjust stock"),
    Permission("manage_kit_templates", ADMINS, "manage kit templates"),
    Permission("manage_recalls", ADMINS, "open, notify or close recalls"),
    Permission("fulfil_requests", ADMINS, "fulfil inventory requests"),
    Permission("record_po", ADMINS, "run billing"),
    Permission("issue_invoice", ADMINS, "run billing"),
    Permission("mark_paid", ADMINS, "run billing"),
    Permission("manage_contracts", ADMINS, "manage contracts"),
    Permission("manage_regions", ADMINS, "manage regions"),
    Permission("override_prices", ADMINS, "override a line's price"),
    Permission("edit_commission_plans", ADMINS, "edit commission plans"),
    Permission("pay_commissions", ADMINS, "mark commissions paid"),
    # Integrations (api/).
    Permission("use_api", STAFF, "use the API"),
    Permission("export_accounting", OVERSIGHT, "export the accounting journal"),
    Permission("manage_webhooks", ADMINS, "manage webhooks"),
)}


def roles_with(permission: str) -> frozenset[str]:
    """The roles holding ``permission`` (an unknown name raises ``KeyError``: no typo passes)."""
    return PERMISSIONS[permission].roles


def has_permission(user, permission: str) -> bool:
    """Whether ``user`` (active, signed in) holds ``permission`` by their role."""
    roles = roles_with(permission)
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and user.role in roles)


def ensure_permission(actor, permission: str) -> None:
    """Refuse unless the (active) actor holds ``permission``; says what was refused."""
    if not has_permission(actor, permission):
        raise PermissionDenied(
            f"Your role ({actor.get_role_display()}) may not {PERMISSIONS[permission].action}."
        )
