"""Writes of the API app: personal tokens and webhook endpoints/deliveries.

Keyword-only, one transaction each; rule violations raise ``ValidationError`` with a message a
person understands, role violations ``PermissionDenied``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from api.models import ApiToken, WebhookDelivery, WebhookEndpoint
from core.outbox import OutboxKind
from core.permissions import ensure_same_organization

TOKEN_MAX_DAYS = 366
TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length
# last_used_at is written at most this often per token, so most requests write nothing.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, actor: User, name: str, scope: str, expires_in_days: int
) -> tuple[ApiToken, str]:
    """A new personal token of ``actor``; returns it and its secret, which is never shown again.

    A manager's token is read-only whatever was asked: managers change nothing."""
    if not actor.is_active or actor.organization_id is None:
        raise PermissionDenied("Your account is not part of an organisation.")
    name = (name or "").strip()
    errors = []
    if not name:
        errors.append("Name the token (e.g. the system that will use it).")
    elif len(name) > TOKEN_NAME_MAX:
        errors.append(f"Keep the token's name under {TOKEN_NAME_MAX} characters.")
    if scope not in ApiToken.Scope.values:
        errors.append("Choose read-only or read-write.")
    elif scope == ApiToken.Scope.WRITE and not actor.can_write:
        errors.append("Managers change nothing, so their tokens are read-only.")
    if not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= TOKEN_MAX_DAYS:
        errors.append(f"A token expires within 1 to {TOKEN_MAX_DAYS} days.")
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization_id=actor.organization_id, user=actor, name=name, prefix=prefix,
        key_hash=_hash(secret), scope=scope,
        expires_at=timezone.now() + datetime.timedelta(days=expires_in_days),
    )
    return token, f"fs_{prefix}_{secret}"


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke one of ``actor``'s tokens (an admin may revoke any of the organisation's)."""
    ensure_same_organization(actor, token)
    if token.user_id != actor.pk and not actor.is_admin:
        raise PermissionDenied("You can revoke only your own tokens.")
    token = ApiToken.objects.select_for_update(of=("self",), no_key=True).get(pk=token.pk)
    if token.revoked_at is not None:
        raise ValidationError(f"Token “{token.name}” was already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str, now: datetime.datetime | None = None) -> ApiToken | None:
    """The usable token ``raw`` names, or None (unknown, wrong secret, expired or revoked)."""
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != "fs" or len(parts[1]) != 12:
        return None
    token = ApiToken.objects.select_related("user", "organization").filter(
        prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.key_hash, _hash(parts[2])):
        return None
    now = now or timezone.now()
    if not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- webhooks -------------------------------------------------------------------------------------


def webhook_secret_new() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_kinds_clean(kinds) -> list[str]:
    if not isinstance(kinds, list) or not kinds:
        raise ValidationError("Choose at least one event kind to receive.")
    unknown = [k for k in kinds if k not in OutboxKind.values]
    if unknown:
        raise ValidationError(
            f"Unknown event kind {', '.join(map(str, unknown))}; "
            f"choose from {', '.join(OutboxKind.values)}.")
    return sorted(set(kinds))


@transaction.atomic
def webhook_endpoint_create(
    *, actor: User, url: str, kinds: list[str], description: str = ""
) -> WebhookEndpoint:
    ensure_permission(actor, "manage_webhooks")
    from api.webhooks import url_problem

    problem = url_problem(url, resolve=False)
    if problem:
        raise ValidationError(problem)
    return WebhookEndpoint.objects.create(
        organization_id=actor.organization_id, url=url, kinds=webhook_kinds_clean(kinds),
        description=description, secret=webhook_secret_new(),
    )


@transaction.atomic
def webhook_delivery_send_again(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue another attempt of a delivery ("Send again"), whatever its state."""
    ensure_permission(actor, "manage_webhooks")
    ensure_same_organization(actor, delivery)
    delivery = WebhookDelivery.objects.select_for_update(of=("self",), no_key=True).select_related(
        "endpoint").get(pk=delivery.pk)
    if not delivery.endpoint.active:
        reason = delivery.endpoint.disabled_reason
        raise ValidationError(
            f"The endpoint {delivery.endpoint.url} is disabled{f' ({reason})' if reason else ''}"
            ": enable it first.")
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    from api.tasks import webhook_deliver

    pk = delivery.pk
    transaction.on_commit(lambda: webhook_deliver.enqueue(pk), robust=True)
    return delivery
