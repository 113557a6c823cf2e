"""Catalogue, devices, the movement ledger, transfers and stock adjustments.

Device.status changes only through ``inventory.lifecycle`` (its transition table); each change
writes one DeviceMovement.
"""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone

from consignment.regions import region_devices_q, region_rep_ids
from core.tenancy import TenantManager, TenantQuerySet
from inventory.labels import gs1_hri, hibc_primary, hibc_text
from inventory.udi import validate_gtin


class Manufacturer(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="manufacturers"
    )
    name = models.CharField(max_length=200)

    objects = TenantManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="manufacturer_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductLine(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    manufacturer = models.ForeignKey(
        Manufacturer, on_delete=models.PROTECT, related_name="product_lines"
    )
    name = models.CharField(max_length=200)

    objects = TenantManager()

    class Meta:
        ordering = ["manufacturer__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "name"], name="product_line_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A catalogue item (SKU)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    product_line = models.ForeignKey(
        ProductLine, on_delete=models.PROTECT, related_name="products"
    )
    reference = models.CharField("catalogue number", max_length=64)
    # A product is keyed by its GTIN (GS1), its HIBC labeler code + catalogue number + unit of
    # measure (HIBCC), or both; a scanned label of either agency names exactly one product.
    gtin = models.CharField("GTIN", max_length=14, blank=True, validators=[validate_gtin])
    hibc_labeler = models.CharField(
        "HIBC labeler code", max_length=4, null=True, blank=True,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9]{3}$", "A HIBC labeler code is a capital "
                                   "letter and three capital letters or digits (e.g. H703).")],
    )
    hibc_product = models.CharField(
        "HIBC catalogue number", max_length=18, null=True, blank=True,
        validators=[RegexValidator(r"^[A-Z0-9]{1,18}$", "A HIBC catalogue number is 1–18 "
                                   "capital letters or digits.")],
    )
    hibc_unit = models.PositiveSmallIntegerField(
        "HIBC unit of measure", null=True, blank=True, validators=[MaxValueValidator(9)],
        help_text="0 for a single unit, 1–8 for packaging levels, 9 for variable quantities.",
    )
    description = models.CharField(max_length=300)
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )

    objects = TenantManager()

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "gtin"], condition=~Q(gtin=""),
                name="product_gtin_unique",
                violation_error_message="Another product of your catalogue has this GTIN.",
            ),
            models.UniqueConstraint(
                fields=["organization", "hibc_labeler", "hibc_product", "hibc_unit"],
                condition=Q(hibc_labeler__isnull=False), name="product_hibc_unique",
                violation_error_message="Another product of your catalogue has this HIBC labeler "
                "code, catalogue number and unit of measure.",
            ),
            models.CheckConstraint(
                condition=Q(hibc_labeler__isnull=True, hibc_product__isnull=True,
                            hibc_unit__isnull=True)
                | Q(hibc_labeler__isnull=False, hibc_product__isnull=False,
                    hibc_unit__isnull=False, hibc_labeler__regex=r"^[A-Z][A-Z0-9]{3}$",
                    hibc_product__regex=r"^[A-Z0-9]{1,18}$", hibc_unit__lte=9),
                name="product_hibc_complete",
                violation_error_message="A HIBC identifier needs all three parts: the labeler "
                "code (e.g. H703), the catalogue number and the unit of measure (0–9).",
            ),
            models.CheckConstraint(
                condition=~Q(gtin="") | Q(hibc_labeler__isnull=False),
                name="product_has_identifier",
                violation_error_message="A product needs a GTIN or a HIBC identifier (labeler "
                "code, catalogue number and unit of measure).",
            ),
            models.UniqueConstraint(
                fields=["organization", "reference"], name="product_reference_unique"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_unit_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} – {self.description}"

    @property
    def hibc_code(self) -> str:
        """The HIBC primary data (``+`` labeler, catalogue number, unit), or ""."""
        if self.hibc_labeler is None:
            return ""
        return hibc_primary(self.hibc_labeler, self.hibc_product, self.hibc_unit)

    @property
    def identifiers(self) -> str:
        """"GTIN …", "HIBC …" or both, for pages and messages."""
        return " · ".join(
            part for part in (f"GTIN {self.gtin}" if self.gtin else "",
                              f"HIBC {self.hibc_code}" if self.hibc_code else "") if part
        )

    def label_text(self, expiration_date, lot: str, serial: str | None) -> str:
        """The UDI of one unit in printable form: GS1 when the product has a GTIN, else HIBC."""
        if self.gtin:
            return gs1_hri(self.gtin, expiration_date, lot, serial)
        return hibc_text(self.hibc_labeler, self.hibc_product, self.hibc_unit,
                         expiration_date, lot, serial)


class DeviceStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    FACILITY_STOCK = "facility_stock", "Facility stock"
    CONSUMED = "consumed", "Consumed"
    REMOVED = "removed", "Removed"
    # In a kit lent to a facility for a case: still the rep's consigned inventory (custodian),
    # at the loan's facility, not sold (only a case at that facility may use it).
    LOANED = "loaned", "On loan"
    # Taken by a recall (inventory.recall_models.Recall): it stays where it is (custody, facility,
    # kit) but can't be used, sold, transferred or swapped until it comes back (a Return, a stock
    # adjustment). Set and released only through the lifecycle.
    QUARANTINED = "quarantined", "Quarantined"

    @property
    def colour(self) -> str:
        """The Bootstrap colour every template shows this status in."""
        return DEVICE_STATUS_COLOURS[self]


DEVICE_STATUS_COLOURS: dict[str, str] = {
    DeviceStatus.AVAILABLE: "success",
    DeviceStatus.FACILITY_STOCK: "info",
    DeviceStatus.CONSUMED: "secondary",
    DeviceStatus.REMOVED: "dark",
    DeviceStatus.LOANED: "primary",
    DeviceStatus.QUARANTINED: "danger",
}


ACTIVE_STATUSES = (DeviceStatus.AVAILABLE, DeviceStatus.FACILITY_STOCK, DeviceStatus.LOANED)


class DeviceQuerySet(TenantQuerySet):
    def for_user(self, user):
        """Admins and managers: the organisation. Reps: see below (rule 10). Regional managers:
        their region (``consignment.regions``)."""
        qs = super().for_user(user)
        if getattr(user, "is_rep", False):
            # Rule 10: their custody, the organisation's facility stock, what they sold or used
            # (deactivated included: "show deactivated inventory to view what facility stock
            # has been sold") and every device at the facilities they cover.
            # Every condition on the device row itself: their events as a subquery (hashed
            # once), not joined. Joined, the planner could count the list's first 10,001 rows
            # by merge-joining along a foreign-key index over every organisation's devices:
            # 0.8 s at 10M devices, depending on the statistics' sample.
            events = self.model._meta.get_field("sold_on").related_model.objects.filter(
                organization_id=user.organization_id, representative=user).values("pk")
            qs = qs.filter(
                Q(custodian=user)
                | Q(status=DeviceStatus.FACILITY_STOCK)
                | Q(sold_on__in=events)
                | Q(used_in__in=events)
                | Q(facility__in=user.covered_facilities.values("pk"))
            )
        elif getattr(user, "is_regional_manager", False):
            qs = qs.filter(region_devices_q(user))
        return qs

    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)


class Device(models.Model):
    """One physical unit."""

    Status = DeviceStatus

    # Indexed as (organization, id), device_org_id in Meta.indexes, not alone: the narrowest
    # way to read a whole organisation's devices (device search, a rep's sorted list; without
    # it those read every device, docs/benchmarks.md "Device indexes"), and the API's pages in
    # id order (keyset paging) within the organisation.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="devices")
    serial = models.CharField(max_length=64, null=True, blank=True)
    lot = models.CharField(max_length=64)
    expiration_date = models.DateField()
    udi = models.CharField("UDI", max_length=200, blank=True)
    status = models.CharField(
        max_length=20, choices=DeviceStatus.choices, default=DeviceStatus.AVAILABLE
    )
    custodian = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True,
        related_name="custody",
    )
    facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, null=True, blank=True,
        related_name="devices",
    )
    sold_on = models.ForeignKey(
        "events.Event", on_delete=models.PROTECT, null=True, blank=True,
        related_name="sold_devices", help_text="The event that sold this device.",
    )
    used_in = models.ForeignKey(
        "events.Event", on_delete=models.PROTECT, null=True, blank=True,
        related_name="used_devices", help_text="The case that consumed this device.",
    )
    pending_transfer = models.ForeignKey(
        "inventory.Transfer", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", help_text="Set while the device is in transit to another custodian.",
        db_index=False,  # indexed where set only: device_in_transit in Meta.indexes
    )
    kit = models.ForeignKey(
        "inventory.Kit", on_delete=models.PROTECT, null=True, blank=True,
        related_name="devices", help_text="The kit this unit sits in: it moves with the kit.",
        db_index=False,  # indexed where set only: device_in_kit in Meta.indexes
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = models.Manager.from_queryset(DeviceQuerySet)()

    class Meta:
        ordering = ["expiration_date", "id"]
        indexes = [
            # The organisation's devices in id order: the API's device list pages by id
            # (newest first) within the organisation. Without it the first page walked the
            # primary key past every other organisation's newer devices: 1.2 s at 10M.
            models.Index(fields=["organization", "id"], name="device_org_id"),
            # All Inventory filtered by facility: the active devices of one facility, counted
            # index-only (the facility's own index reads its consumed history too).
            models.Index(fields=["organization", "status", "facility"]),
            models.Index(fields=["organization", "status", "custodian"]),
            # Exact lot: recall traces and scanned lot labels; and All Inventory sorted by lot
            # (without it that sort reads and sorts the whole organisation: 0.3 → ~300 ms).
            models.Index(fields=["organization", "lot"]),
            # All Inventory's default order (expiry, then id) within the organisation: pages
            # are read off this index instead of sorting the organisation's devices.
            models.Index(fields=["organization", "expiration_date", "id"],
                         name="device_org_expiry_id"),
            # All Inventory sorted by serial.
            models.Index(fields=["organization", "serial", "id"], name="device_org_serial_id"),
            # Case-insensitive lot lookups (iexact) compare UPPER(lot). The serial prefix
            # lookup (istartswith: UPPER(serial) LIKE 'X%') has a PostgreSQL-only index with
            # text_pattern_ops, made by migration inventory 0006; reports' joins from event
            # lines to products use a PostgreSQL-only (id) INCLUDE (product_id) index (0008).
            models.Index(F("organization"), Upper("lot"), name="device_org_lot_upper"),
            # All Inventory sorted by custodian or facility (inventory.selectors
            # .device_page_by_joined_column): each custodian's / facility's devices in id order,
            # and those with none, in id order.
            models.Index(fields=["organization", "custodian", "id"],
                         name="device_org_custodian_id"),
            models.Index(fields=["organization", "id"], name="device_org_no_custodian",
                         condition=Q(custodian__isnull=True)),
            models.Index(fields=["organization", "facility", "id"], name="device_org_facility_id"),
            models.Index(fields=["organization", "id"], name="device_org_no_facility",
                         condition=Q(facility__isnull=True)),
            # The organisation's facility stock per facility and product with its expiry: the
            # dashboard's on-hand counts of products without a par level, index-only, and every
            # other facility-stock lookup by facility (and product): they all filter by the
            # organisation too, so a (facility, product) index of their own is not needed.
            models.Index(fields=["organization", "facility", "product", "expiration_date"],
                         name="device_org_facility_stock",
                         condition=Q(status="facility_stock")),
            # Devices in transit, for the foreign key only: deleting a transfer (never done by the
            # app) nulls and checks its devices through this instead of scanning every device. No
            # entry for the devices not in transit (nearly all), so updates of them skip it.
            models.Index(fields=["pending_transfer"], name="device_in_transit",
                         condition=Q(pending_transfer__isnull=False)),
            # A kit's contents; no entry for the devices in no kit (nearly all).
            models.Index(fields=["kit", "product"], name="device_in_kit",
                         condition=Q(kit__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeviceStatus.values), name="device_status_valid"
            ),
            models.UniqueConstraint(
                fields=["product", "serial"], condition=Q(serial__isnull=False),
                name="device_serial_unique_per_product",
            ),
            # AVAILABLE: in someone's custody, at no facility, never sold.
            models.CheckConstraint(
                condition=~Q(status=DeviceStatus.AVAILABLE)
                | Q(custodian__isnull=False, facility__isnull=True, sold_on__isnull=True),
                name="device_available_has_custodian_only",
            ),
            # FACILITY_STOCK: sold to a facility, on its shelf, in no rep's custody.
            models.CheckConstraint(
                condition=~Q(status=DeviceStatus.FACILITY_STOCK)
                | Q(facility__isnull=False, sold_on__isnull=False, custodian__isnull=True),
                name="device_facility_stock_has_facility_and_sale",
            ),
            # CONSUMED: sold, and used in a case.
            models.CheckConstraint(
                condition=~Q(status=DeviceStatus.CONSUMED)
                | Q(sold_on__isnull=False, used_in__isnull=False, custodian__isnull=True),
                name="device_consumed_sold_and_used",
            ),
            # LOANED: in a kit at the loan's facility, still in the rep's custody, not sold.
            models.CheckConstraint(
                condition=~Q(status=DeviceStatus.LOANED)
                | Q(kit__isnull=False, custodian__isnull=False, facility__isnull=False,
                    sold_on__isnull=True),
                name="device_loaned_in_kit_at_facility",
            ),
            # Only an available, loaned or quarantined unit sits in a kit.
            models.CheckConstraint(
                condition=Q(kit__isnull=True)
                | Q(status__in=[DeviceStatus.AVAILABLE, DeviceStatus.LOANED,
                                DeviceStatus.QUARANTINED]),
                name="device_kit_only_when_available_or_loaned",
            ),
            # QUARANTINED: still held by someone (a custodian, or a facility's shelf).
            models.CheckConstraint(
                condition=~Q(status=DeviceStatus.QUARANTINED)
                | Q(custodian__isnull=False) | Q(facility__isnull=False),
                name="device_quarantined_has_holder",
            ),
            # Only an available device can be in transit.
            models.CheckConstraint(
                condition=Q(pending_transfer__isnull=True) | Q(status=DeviceStatus.AVAILABLE),
                name="device_in_transit_only_when_available",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How a rep names the device: by serial, else by lot."""
        return f"SN {self.serial}" if self.serial else f"lot {self.lot} (#{self.pk})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def in_transit(self) -> bool:
        return self.pending_transfer_id is not None

    def is_expired(self, today=None) -> bool:
        return self.expiration_date < (today or timezone.localdate())

    def build_udi(self) -> str:
        return self.product.label_text(self.expiration_date, self.lot, self.serial)


class MovementKind(models.TextChoices):
    RECEIVED = "received", "Received"
    TRANSFERRED = "transferred", "Transferred"
    SOLD_TO_FACILITY = "sold_to_facility", "Sold as facility stock (stocking order)"
    SOLD_AND_CONSUMED = "sold_and_consumed", "Sold and used in a case"
    FACILITY_STOCK_CONSUMED = "facility_stock_consumed", "Facility stock used in a case"
    ADJUSTMENT_REMOVED = "adjustment_removed", "Removed by stock adjustment"
    ADJUSTMENT_RESTORED = "adjustment_restored", "Restored by stock adjustment"
    ADJUSTMENT_MOVED = "adjustment_moved", "Moved to another facility by stock adjustment"
    RETURNED = "returned", "Returned by the facility to the rep (return)"
    RETURNED_FOR_DESTRUCTION = "returned_for_destruction", "Returned for destruction (return)"
    KIT_PACKED = "kit_packed", "Packed into a kit"
    KIT_UNPACKED = "kit_unpacked", "Taken out of a kit"
    KIT_TRANSFERRED = "kit_transferred", "Transferred with its kit"
    KIT_LOANED = "kit_loaned", "Loaned with its kit"
    KIT_CHECKED_IN = "kit_checked_in", "Checked in with its kit"
    KIT_LOAN_MOVED = "kit_loan_moved", "Moved with its loaned kit to another facility"
    QUARANTINED = "quarantined", "Quarantined by a recall"
    RECALL_RETURNED = "recall_returned", "Returned under a recall (return)"


class DeviceMovement(models.Model):
    """Append-only ledger: one row per status or custody change of a device.

    On PostgreSQL triggers refuse UPDATE, DELETE (migration inventory 0002) and TRUNCATE
    (0003). Each row is HMAC-chained to its organisation's previous one (``chain_seq``,
    ``chain_hash``; see inventory/ledger.py), so a row written, changed, reordered or removed
    outside the application shows up in ``verify_ledger``.
    """

    Kind = MovementKind

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="movements")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=MovementKind.choices)
    from_status = models.CharField(max_length=20, choices=DeviceStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=DeviceStatus.choices)
    from_custodian = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_custodian = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text="The facility the device is at after this movement.",
    )
    event = models.ForeignKey(
        "events.Event", on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    transfer = models.ForeignKey(
        "inventory.Transfer", on_delete=models.PROTECT, null=True, blank=True,
        related_name="movements",
    )
    adjustment = models.ForeignKey(
        "inventory.StockAdjustment", on_delete=models.PROTECT, null=True, blank=True,
        related_name="movements",
    )
    note = models.TextField(blank=True)
    # Kit membership before and after (verify_ledger replays it like custody).
    from_kit = models.ForeignKey(
        "inventory.Kit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False,
    )
    kit = models.ForeignKey(
        "inventory.Kit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False,
    )
    chain_seq = models.PositiveBigIntegerField(
        null=True, editable=False, help_text="Position in the organisation's HMAC chain."
    )
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = TenantManager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["device", "at"]),
            # Units a case used out of a loaned kit (kit utilisation, a loan's page, check-in):
            # a few rows among millions, so a partial index.
            models.Index(fields=["from_kit", "at"], name="movement_used_from_loaned_kit",
                         condition=Q(kind="sold_and_consumed", from_status="loaned")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "chain_seq"], name="movement_chain_seq_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=MovementKind.values), name="movement_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(to_status__in=DeviceStatus.values), name="movement_to_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()} {self.device_id}"


class LedgerChainHead(models.Model):
    """The end of an organisation's movement chain; locked while movements are written."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    key_id = models.CharField(
        max_length=16, blank=True, default="",
        help_text="Id of the key that signs the chain (inventory.ledger.key_id; never the key). "
                  "Blank: no movement yet (the first one sets it).",
    )
    kit_content_from = models.PositiveBigIntegerField(
        default=1,
        help_text="The first sequence number whose content covers a movement's kit columns "
                  "(inventory.ledger, content version 2; migration 0017 set it for older chains).",
    )

    def __str__(self) -> str:
        return f"ledger head #{self.last_seq} of organisation {self.organization_id}"


class LedgerKeyRotation(models.Model):
    """An operator's change of the ledger key (``manage.py rotate_ledger_key``), part of the
    organisation's chain: after movement #``after_seq`` (the last one signed with the old key),
    signed with the new key over the old chain's last hash and a digest of every movement up to
    it (``vouched_digest``, taken once the old key had verified them). The next movement chains
    on ``rotation_hash``. Append-only for the app's database role."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     related_name="+")
    at = models.DateTimeField(default=timezone.now)
    after_seq = models.PositiveBigIntegerField()
    old_key_id = models.CharField(max_length=16)
    new_key_id = models.CharField(max_length=16)
    old_head_hash = models.CharField(max_length=64)
    vouched_digest = models.CharField(max_length=64)
    rotation_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["organization", "id"]

    def __str__(self) -> str:
        return (f"ledger key {self.old_key_id} → {self.new_key_id} after #{self.after_seq} "
                f"(organisation {self.organization_id})")


class TransferStatus(models.TextChoices):
    """Use it as ``Transfer.Status``."""

    PENDING = "pending", "In transit"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    TAKEN_BACK = "taken_back", "Taken back"  # by the sender, while in transit

    @property
    def colour(self) -> str:
        """The Bootstrap colour every template shows this status in."""
        return TRANSFER_STATUS_COLOURS[self]


TRANSFER_STATUS_COLOURS: dict[str, str] = {
    TransferStatus.PENDING: "warning",
    TransferStatus.ACCEPTED: "success",
    TransferStatus.DECLINED: "danger",
    TransferStatus.TAKEN_BACK: "secondary",
}


class TransferQuerySet(TenantQuerySet):
    def for_user(self, user):
        """The organisation's transfers; a regional manager's: from or to its reps
        (``consignment.regions``). Reps are narrowed by ``selectors.transfer_list``."""
        qs = super().for_user(user)
        if getattr(user, "is_regional_manager", False):
            reps = region_rep_ids(user)
            qs = qs.filter(Q(from_custodian_id__in=reps) | Q(to_custodian_id__in=reps))
        return qs


class Transfer(models.Model):
    """Available devices moving from one custodian to another."""

    Status = TransferStatus

    # Indexed as (organization, id), transfer_org_id in Meta.indexes, not alone.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     db_index=False)
    from_custodian = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_custodian = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="transfers_in"
    )
    devices = models.ManyToManyField(Device, related_name="transfers")
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decline_reason = models.TextField(blank=True)
    # A kit transfer moves the kit and every device in it; a replenishment moves devices into a
    # kit (possibly from its own custodian's stock: then no custody changes).
    kit = models.ForeignKey("inventory.Kit", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="transfers")
    into_kit = models.ForeignKey("inventory.Kit", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="fills")

    objects = TransferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The API's keyset pages (newest id first) within the organisation.
            models.Index(fields=["organization", "id"], name="transfer_org_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_custodian=models.F("to_custodian"))
                | Q(into_kit__isnull=False),
                name="transfer_to_another_custodian",
            ),
            models.CheckConstraint(
                condition=~Q(status=TransferStatus.DECLINED) | ~Q(decline_reason=""),
                name="transfer_decline_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Transfer #{self.pk}: {self.from_custodian} → {self.to_custodian}"


class StockAdjustment(models.Model):
    class Reason(models.TextChoices):
        CYCLE_COUNT = "cycle_count", "Cycle-count correction"
        LOST = "lost", "Lost"
        DAMAGED = "damaged", "Damaged"
        EXPIRED = "expired", "Expired"
        FOUND = "found", "Found"
        RETURNED = "returned", "Returned to manufacturer"
        DESTROYED = "destroyed", "Destroyed"
        FACILITY_CORRECTION = "facility_correction", "Facility correction"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.TextField(blank=True)
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Stock adjustment #{self.pk} ({self.get_reason_display()})"


class StockAdjustmentLine(models.Model):
    class Effect(models.TextChoices):
        REMOVE = "remove", "Remove"
        RESTORE = "restore", "Restore"
        MOVE_TO_FACILITY = "move_to_facility", "Move to another facility"

    adjustment = models.ForeignKey(StockAdjustment, on_delete=models.CASCADE, related_name="lines")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="adjustment_lines")
    effect = models.CharField(max_length=20, choices=Effect.choices)
    from_status = models.CharField(max_length=20, choices=DeviceStatus.choices)
    to_status = models.CharField(max_length=20, choices=DeviceStatus.choices)
    to_facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_custodian = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["adjustment", "device"], name="adjustment_line_device_once"
            ),
            models.CheckConstraint(
                condition=~Q(effect="move_to_facility") | Q(to_facility__isnull=False),
                name="adjustment_move_has_facility",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_effect_display()} {self.device_id}"


# Kits live in the inventory app (the lifecycle must know a device's kit).
from inventory.kit_models import (  # noqa: E402, F401
    KIT_STATUS_COLOURS,
    Kit,
    KitMovement,
    KitMovementKind,
    KitStatus,
    KitTemplate,
    KitTemplateItem,
)

# Recalls live in the inventory app too (the lifecycle names the recall that quarantined a unit).
from inventory.recall_models import (  # noqa: E402, F401
    RECALL_STATUS_COLOURS,
    Recall,
    RecallAction,
    RecallClass,
    RecallHolder,
    RecallScope,
    RecallStatus,
    RecallUnit,
)
