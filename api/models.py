"""Personal API tokens, webhook endpoints and their delivery log."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.outbox import OutboxKind
from core.tenancy import TenantManager


class ApiToken(models.Model):
    """A personal token: it acts as its user, with that user's role and organisation.

    Only the SHA-256 of the secret is stored; the secret is shown once, when it is created.
    ``prefix`` (public, unique) finds the row; the hash is compared in constant time.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(scope__in=["read", "write"]),
                                   name="api_token_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (fs_{self.prefix}_…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "Revoked"
        return "Active" if self.is_usable() else "Expired"


class WebhookEndpoint(models.Model):
    """A URL of an integration that receives the kinds of event it asked for, signed with its
    own secret (Standard Webhooks). Disabled automatically after repeated failures."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    kinds = models.JSONField(
        default=list, help_text="Event kinds to receive: " + ", ".join(OutboxKind.values)
    )
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["url", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One message to one endpoint, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    message_id = models.CharField(max_length=40)
    kind = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"],
                                name="api_delivery_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.endpoint_id} ({self.message_id})"


class WebhookAttempt(models.Model):
    """What one attempt sent and got back: the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error}"
