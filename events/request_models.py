"""Inventory requests on a scheduled case (imported by ``events/models.py``).

A rep asks for products (or a kit template's content) and quantities for an upcoming case; the
request waits in the admins' queue; an admin fulfils it by picking units, which makes a transfer
to the rep (accepted by the rep as any transfer), and may refuse the rest with a reason. What was
sent is the transfers' devices; what each line still needs is ``quantity - fulfilled`` until the
request is closed.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.tenancy import TenantManager


class InventoryRequestStatus(models.TextChoices):
    OPEN = "open", "Waiting for the office"
    PARTIAL = "partial", "Partly sent"
    FULFILLED = "fulfilled", "Sent"
    CLOSED = "closed", "Answered (part refused)"
    REFUSED = "refused", "Refused"

    @property
    def colour(self) -> str:
        return REQUEST_STATUS_COLOURS[self]

    @property
    def is_open(self) -> bool:
        return self in (InventoryRequestStatus.OPEN, InventoryRequestStatus.PARTIAL)


REQUEST_STATUS_COLOURS: dict[str, str] = {
    InventoryRequestStatus.OPEN: "warning",
    InventoryRequestStatus.PARTIAL: "info",
    InventoryRequestStatus.FULFILLED: "success",
    InventoryRequestStatus.CLOSED: "secondary",
    InventoryRequestStatus.REFUSED: "danger",
}

# Where an answer may take a request (the service checks it).
REQUEST_TRANSITIONS: dict[str, set[str]] = {
    InventoryRequestStatus.OPEN: {
        InventoryRequestStatus.PARTIAL,
        InventoryRequestStatus.FULFILLED,
        InventoryRequestStatus.CLOSED,
        InventoryRequestStatus.REFUSED,
    },
    InventoryRequestStatus.PARTIAL: {
        InventoryRequestStatus.PARTIAL,
        InventoryRequestStatus.FULFILLED,
        InventoryRequestStatus.CLOSED,
    },
    InventoryRequestStatus.FULFILLED: set(),
    InventoryRequestStatus.CLOSED: set(),
    InventoryRequestStatus.REFUSED: set(),
}


class InventoryRequest(models.Model):
    Status = InventoryRequestStatus

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    event = models.ForeignKey(
        "events.Event", on_delete=models.CASCADE, related_name="inventory_requests"
    )
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    kit_template = models.ForeignKey(
        "inventory.KitTemplate", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=16, choices=InventoryRequestStatus.choices, default=InventoryRequestStatus.OPEN
    )
    answered_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.CharField(max_length=300, blank=True)
    transfers = models.ManyToManyField("inventory.Transfer", blank=True, related_name="+")

    objects = TenantManager()

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["organization", "status"], name="inv_request_org_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=InventoryRequestStatus.values),
                name="inv_request_status_valid",
            ),
            # A refusal (whole or of the rest) says why.
            models.CheckConstraint(
                condition=~Q(
                    status__in=[InventoryRequestStatus.CLOSED, InventoryRequestStatus.REFUSED]
                )
                | ~Q(refusal_reason=""),
                name="inv_request_refusal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk} for {self.event}"

    @property
    def is_open(self) -> bool:
        return InventoryRequestStatus(self.status).is_open

    @property
    def status_colour(self) -> str:
        return REQUEST_STATUS_COLOURS[self.status]


class InventoryRequestLine(models.Model):
    request = models.ForeignKey(InventoryRequest, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    fulfilled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "product"], name="inv_request_line_product_once"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inv_request_line_qty_gt_0"),
            models.CheckConstraint(
                condition=Q(fulfilled__lte=F("quantity")), name="inv_request_line_not_over"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"

    @property
    def outstanding(self) -> int:
        return self.quantity - self.fulfilled
