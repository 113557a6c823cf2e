"""Kits: a set's content list (``KitTemplate``, ``KitTemplateItem``), the physical tray or set
with its own tag (``Kit``) and the kit's own ledger (``KitMovement``).

Devices sit in a kit through ``Device.kit``; the inventory lifecycle knows it and refuses moving a
kit member alone (``inventory.lifecycle.leave_problem``). The models are imported by
``inventory.models`` so they belong to the inventory app.
"""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from consignment.regions import region_facility_ids, region_rep_ids
from core.tenancy import TenantManager, TenantQuerySet


class KitTemplate(models.Model):
    """A set's bill of materials: so many of each product (e.g. "Pedicle Screw Set 5.5")."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     related_name="+")
    name = models.CharField(max_length=200)
    product_line = models.ForeignKey("inventory.ProductLine", on_delete=models.PROTECT,
                                     related_name="kit_templates")
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="kit_template_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class KitTemplateItem(models.Model):
    """One line of a template: a product and how many units a complete kit holds."""

    template = models.ForeignKey(KitTemplate, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["product__reference", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "product"],
                                    name="kit_template_item_product_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1),
                                   name="kit_template_item_qty_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class KitStatus(models.TextChoices):
    """Use it as ``Kit.Status``."""

    AVAILABLE = "available", "Available"
    IN_TRANSIT = "in_transit", "In transit"
    LOANED = "loaned", "On loan"

    @property
    def colour(self) -> str:
        return KIT_STATUS_COLOURS[self]


KIT_STATUS_COLOURS: dict[str, str] = {
    KitStatus.AVAILABLE: "success",
    KitStatus.IN_TRANSIT: "warning",
    KitStatus.LOANED: "primary",
}


class KitQuerySet(TenantQuerySet):
    def for_user(self, user):
        """The organisation's kits; a regional manager's: those its reps hold or at its
        facilities (``consignment.regions``). Reps are narrowed by the selectors (custody)."""
        qs = super().for_user(user)
        if getattr(user, "is_regional_manager", False):
            qs = qs.filter(Q(custodian_id__in=region_rep_ids(user))
                           | Q(facility_id__in=region_facility_ids(user)))
        return qs


class Kit(models.Model):
    """A physical tray or set with its own tag, in one custodian's custody; at a facility while
    loaned (``loan`` is the Loan event it is out on)."""

    Status = KitStatus

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     related_name="+")
    template = models.ForeignKey(KitTemplate, on_delete=models.PROTECT, related_name="kits")
    tag = models.CharField(max_length=32, help_text="Printed on the kit's label (QR code).")
    custodian = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="kits")
    facility = models.ForeignKey("consignment.Facility", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="kits")
    status = models.CharField(max_length=16, choices=KitStatus.choices,
                              default=KitStatus.AVAILABLE)
    loan = models.ForeignKey("events.Event", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", help_text="The Loan it is out on.")
    pending_transfer = models.ForeignKey("inventory.Transfer", on_delete=models.SET_NULL,
                                         null=True, blank=True, related_name="+")
    notes = models.TextField(blank=True, help_text="Anything the next person to pack or loan it "
                                                   "should know.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = KitQuerySet.as_manager()

    class Meta:
        ordering = ["tag"]
        indexes = [models.Index(fields=["organization", "status"], name="kit_org_status")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "tag"], name="kit_tag_unique"),
            models.CheckConstraint(condition=Q(status__in=KitStatus.values),
                                   name="kit_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=KitStatus.LOANED)
                | Q(facility__isnull=False, loan__isnull=False),
                name="kit_loaned_has_facility_and_loan",
            ),
            models.CheckConstraint(
                condition=Q(status=KitStatus.LOANED) | Q(facility__isnull=True, loan__isnull=True),
                name="kit_home_has_no_facility",
            ),
            models.CheckConstraint(
                condition=~Q(status=KitStatus.IN_TRANSIT) | Q(pending_transfer__isnull=False),
                name="kit_in_transit_has_transfer",
            ),
        ]

    def __str__(self) -> str:
        return f"kit {self.tag}"


class KitMovementKind(models.TextChoices):
    BUILT = "built", "Built"
    PACKED = "packed", "Units packed"
    UNPACKED = "unpacked", "Unit taken out"
    TRANSFER_SENT = "transfer_sent", "Transfer sent"
    TRANSFERRED = "transferred", "Transferred"
    TRANSFER_DECLINED = "transfer_declined", "Transfer declined"
    LOANED = "loaned", "Loaned"
    LOAN_EXTENDED = "loan_extended", "Loan extended"
    CHECKED_IN = "checked_in", "Checked in"
    EDITED = "edited", "Details changed"
    LOAN_CHANGED = "loan_changed", "Loan details changed"


class KitMovement(models.Model):
    """The kit's own ledger: one append-only row each time the kit is built, changes, moves,
    is loaned or checked in (its devices' movements are in ``DeviceMovement``). Each row is
    HMAC-chained on the organisation's ledger chain, like a device movement."""

    Kind = KitMovementKind

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     related_name="+")
    kit = models.ForeignKey(Kit, on_delete=models.PROTECT, related_name="movements")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=KitMovementKind.choices)
    from_custodian = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True,
                                       blank=True, related_name="+")
    to_custodian = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    facility = models.ForeignKey("consignment.Facility", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    transfer = models.ForeignKey("inventory.Transfer", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    units = models.PositiveIntegerField(default=0, help_text="Devices moved with it.")
    note = models.TextField(blank=True)
    # On the organisation's ledger chain, between its device movements (inventory/ledger.py).
    chain_seq = models.PositiveBigIntegerField(
        null=True, editable=False, help_text="Position in the organisation's HMAC chain."
    )
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = TenantManager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kit", "at"], name="kit_movement_kit_at")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "chain_seq"],
                                    name="kit_movement_chain_seq_unique"),
            models.CheckConstraint(condition=Q(kind__in=KitMovementKind.values),
                                   name="kit_movement_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()} kit {self.kit_id}"
