"""Recalls: a manufacturer's recall notice (``Recall``) and the units it quarantined
(``RecallUnit``).

A recall's scope is one of: one or more lots, a serial range, or a product with an expiry window
(always within the recall's manufacturer; a product narrows lots and serial ranges too). Opening
it quarantines every active unit in scope through the lifecycle (``inventory.recall_services``);
each unit it took is a ``RecallUnit`` row remembering who held it then (rep or warehouse custody,
a facility's stock, a kit), so the recall page can follow each holder's progress after the unit
came back. The models live in inventory because the lifecycle names the recall when it refuses a
quarantined unit, and receiving quarantines units in an open recall's scope. The recall's letters,
acknowledgements and close report are the ``recalls`` app's (above billing).
"""

from __future__ import annotations

import re

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.tenancy import TenantManager


class RecallClass(models.TextChoices):
    I = "I", "Class I"  # noqa: E741 - the regulator's name
    II = "II", "Class II"
    III = "III", "Class III"


class RecallAction(models.TextChoices):
    RETURN = "return", "Return to manufacturer"
    DESTROY = "destroy", "Destroy"
    INSPECT = "inspect", "Inspect"


class RecallScope(models.TextChoices):
    LOTS = "lots", "Lots"
    SERIAL_RANGE = "serial_range", "Serial range"
    PRODUCT_EXPIRY = "product_expiry", "Product and expiry window"


class RecallStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"

    @property
    def colour(self) -> str:
        return RECALL_STATUS_COLOURS[self]


RECALL_STATUS_COLOURS = {RecallStatus.OPEN: "danger", RecallStatus.CLOSED: "secondary"}


def recall_notice_upload_to(instance, filename: str) -> str:
    return f"recalls/{instance.organization_id}/notice/{filename}"


class Recall(models.Model):
    """A manufacturer's recall being carried out."""

    Class = RecallClass
    Action = RecallAction
    Scope = RecallScope
    Status = RecallStatus

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    manufacturer = models.ForeignKey(
        "inventory.Manufacturer", on_delete=models.PROTECT, related_name="recalls"
    )
    reference = models.CharField(
        max_length=64, help_text="The manufacturer's recall number, e.g. R-2026-001."
    )
    reason = models.TextField()
    recall_class = models.CharField("class", max_length=3, choices=RecallClass.choices)
    action = models.CharField(max_length=16, choices=RecallAction.choices)
    scope = models.CharField(max_length=16, choices=RecallScope.choices)
    lots = models.JSONField(default=list, blank=True, help_text="The recalled lot numbers.")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="recalls"
    )
    serial_from = models.CharField(max_length=64, blank=True)
    serial_to = models.CharField(max_length=64, blank=True)
    expiry_from = models.DateField(null=True, blank=True)
    expiry_to = models.DateField(null=True, blank=True)
    notice = models.FileField(
        "notice PDF", upload_to=recall_notice_upload_to, blank=True, max_length=200
    )
    status = models.CharField(max_length=8, choices=RecallStatus.choices, default=RecallStatus.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = TenantManager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["organization", "status", "manufacturer"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"],
                name="recall_reference_unique",
                violation_error_message="A recall with this reference already exists.",
            ),
            models.CheckConstraint(
                condition=Q(recall_class__in=RecallClass.values), name="recall_class_valid"
            ),
            models.CheckConstraint(
                condition=Q(action__in=RecallAction.values), name="recall_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RecallStatus.values), name="recall_status_valid"
            ),
            models.CheckConstraint(
                condition=(Q(scope=RecallScope.LOTS) & ~Q(lots=[]))
                | Q(
                    scope=RecallScope.SERIAL_RANGE,
                    serial_from__gt="",
                    serial_to__gt="",
                    serial_from__lte=models.F("serial_to"),
                )
                | Q(
                    scope=RecallScope.PRODUCT_EXPIRY,
                    product__isnull=False,
                    expiry_from__isnull=False,
                    expiry_to__isnull=False,
                    expiry_from__lte=models.F("expiry_to"),
                ),
                name="recall_scope_complete",
                violation_error_message="The scope is incomplete: lots, a serial range (first ≤ "
                "last), or a product with an expiry window (from ≤ to).",
            ),
            models.CheckConstraint(
                condition=Q(status=RecallStatus.OPEN, closed_at__isnull=True)
                | Q(status=RecallStatus.CLOSED, closed_at__isnull=False),
                name="recall_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"recall {self.reference}"

    @property
    def scope_text(self) -> str:
        """The scope as a person reads it: "lots L1, L2", "serials 0100–0199", …"""
        product = f" of {self.product.reference}" if self.product_id else ""
        if self.scope == RecallScope.LOTS:
            return f"lot{'s' if len(self.lots) > 1 else ''} {', '.join(self.lots)}{product}"
        if self.scope == RecallScope.SERIAL_RANGE:
            return f"serials {self.serial_from}–{self.serial_to}{product}"
        return (
            f"{self.product.reference if self.product_id else '?'} expiring "
            f"{self.expiry_from:%Y-%m-%d}–{self.expiry_to:%Y-%m-%d}"
        )

    def scope_q(self, prefix: str = "") -> Q:
        """The devices in scope, as a filter on ``Device`` (``prefix`` for a related lookup).

        A serial range takes the serials of the bounds' length that sort between them (for
        serials of one width, numeric and text order agree: 0100–0199)."""
        p = prefix
        q = Q(
            **{
                f"{p}organization_id": self.organization_id,
                f"{p}product__product_line__manufacturer_id": self.manufacturer_id,
            }
        )
        if self.product_id:
            q &= Q(**{f"{p}product_id": self.product_id})
        if self.scope == RecallScope.LOTS:
            return q & Q(**{f"{p}lot__in": list(self.lots)})
        if self.scope == RecallScope.SERIAL_RANGE:
            width = len(self.serial_from)
            return q & Q(
                **{
                    f"{p}serial__gte": self.serial_from,
                    f"{p}serial__lte": self.serial_to,
                    f"{p}serial__regex": f"^.{{{width}}}$",
                }
            )
        return q & Q(
            **{
                f"{p}expiration_date__gte": self.expiry_from,
                f"{p}expiration_date__lte": self.expiry_to,
            }
        )

    def covers(self, device, manufacturer_id: int) -> bool:
        """Whether ``device`` (its product's maker ``manufacturer_id``) is in scope: the Python
        twin of ``scope_q`` for units being received."""
        if (
            device.organization_id != self.organization_id
            or (manufacturer_id != self.manufacturer_id)
            or (self.product_id and device.product_id != self.product_id)
        ):
            return False
        if self.scope == RecallScope.LOTS:
            return device.lot in self.lots
        if self.scope == RecallScope.SERIAL_RANGE:
            serial = device.serial or ""
            return bool(re.fullmatch(f".{{{len(self.serial_from)}}}", serial, re.DOTALL)) and (
                self.serial_from <= serial <= self.serial_to
            )
        return self.expiry_from <= device.expiration_date <= self.expiry_to


class RecallHolder(models.TextChoices):
    """Who held a unit when the recall took it."""

    REP = "rep", "Rep"
    WAREHOUSE = "warehouse", "Warehouse"
    FACILITY = "facility", "Facility"


class RecallUnit(models.Model):
    """A unit a recall quarantined (or found quarantined by an earlier recall), and who held it
    then. It is accounted for once the device is no longer quarantined (returned, removed)."""

    Holder = RecallHolder

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="units")
    device = models.ForeignKey(
        "inventory.Device", on_delete=models.PROTECT, related_name="recall_units"
    )
    holder = models.CharField(max_length=16, choices=RecallHolder.choices)
    from_status = models.CharField(max_length=20)
    custodian = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kit = models.ForeignKey(
        "inventory.Kit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    in_transit = models.BooleanField(default=False)
    quarantined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["device", "recall"], name="recall_unit_device")]
        constraints = [
            models.UniqueConstraint(fields=["recall", "device"], name="recall_unit_once"),
            models.CheckConstraint(
                condition=Q(holder__in=RecallHolder.values), name="recall_unit_holder_valid"
            ),
            models.CheckConstraint(
                condition=Q(holder=RecallHolder.FACILITY, facility__isnull=False)
                | (~Q(holder=RecallHolder.FACILITY) & Q(custodian__isnull=False)),
                name="recall_unit_holder_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} under recall {self.recall_id}"
