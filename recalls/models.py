"""A recall's letter to each facility it concerns (``RecallNotice``): the PDF the worker renders,
when it was emailed and to whom, and the facility's acknowledgement (by a rep, or by the
facility's contact through a signed link).

The recall itself and the units it quarantined are inventory's (``inventory.Recall``,
``inventory.RecallUnit``): the lifecycle must know them. This app is above billing: closing the
loop uses Returns (credit memos, clawbacks) and PDFs.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.tenancy import TenantManager


def recall_letter_upload_to(instance, filename: str) -> str:
    return f"recalls/{instance.organization_id}/letter/{filename}"


class RecallNotice(models.Model):
    """One facility's letter for a recall, and its acknowledgement."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    recall = models.ForeignKey("inventory.Recall", on_delete=models.PROTECT, related_name="notices")
    facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, related_name="recall_notices"
    )
    pdf = models.FileField(upload_to=recall_letter_upload_to, blank=True, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.TextField(blank=True, help_text="The addresses the letter was emailed to.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The rep or admin who recorded it; empty when "
        "the facility's contact did, through the signed link.",
    )
    acknowledged_name = models.CharField(
        max_length=200, blank=True, help_text="Who acknowledged, as they typed it."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["facility__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["recall", "facility"], name="recall_notice_once"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True)
                | (Q(acknowledged_at__isnull=False) & ~Q(acknowledged_name="")),
                name="recall_notice_ack_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recall} letter to {self.facility_id}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None
