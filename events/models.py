"""Events (cases and stocking orders), their lines, billing documents and commissions.

Event.status changes only in ``events.services``.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.scoping import TenantQuerySet


class EventType(models.TextChoices):
    CASE = "case", "Case"
    STOCKING_ORDER = "stocking_order", "Stocking Order"
    RETURN = "return", "Return"


class EventStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_PO = "pending_po", "Pending PO"
    READY_TO_INVOICE = "ready_to_invoice", "Ready to invoice"
    INVOICED = "invoiced", "Invoiced"
    PAID = "paid", "Paid"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"

    @property
    def colour(self) -> str:
        """The Bootstrap colour every template and PDF shows this status in."""
        return EVENT_STATUS_COLOURS[self]


# One presentation per status (templates use the ``status_badge`` filter, PDFs too).
EVENT_STATUS_COLOURS: dict[str, str] = {
    EventStatus.DRAFT: "secondary",
    EventStatus.PENDING_PO: "warning",
    EventStatus.READY_TO_INVOICE: "primary",
    EventStatus.INVOICED: "info",
    EventStatus.PAID: "success",
    EventStatus.CLOSED: "success",
    EventStatus.CANCELLED: "dark",
}


# The billing pipeline: each status and the statuses it may move to.
EVENT_TRANSITIONS: dict[str, set[str]] = {
    EventStatus.DRAFT: {EventStatus.PENDING_PO, EventStatus.CLOSED, EventStatus.CANCELLED},
    EventStatus.PENDING_PO: {EventStatus.READY_TO_INVOICE},
    EventStatus.READY_TO_INVOICE: {EventStatus.INVOICED},
    EventStatus.INVOICED: {EventStatus.PAID},
    EventStatus.PAID: set(),
    EventStatus.CLOSED: set(),
    EventStatus.CANCELLED: set(),
}


# Statuses of an event that was never submitted for billing (no signature, no documents).
UNSUBMITTED = (EventStatus.DRAFT, EventStatus.CANCELLED)


class EventQuerySet(TenantQuerySet):
    def for_user(self, user):
        """Admins and managers: the organisation's events. Reps: their own."""
        qs = super().for_user(user)
        if getattr(user, "role", None) == "rep":
            qs = qs.filter(representative=user)
        return qs


class Event(models.Model):
    Type = EventType
    Status = EventStatus

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    event_type = models.CharField("Event Type", max_length=20, choices=EventType.choices)
    name = models.CharField(max_length=200)
    date = models.DateField()
    facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, related_name="events"
    )
    representative = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="events"
    )
    facility_contact = models.ForeignKey(
        "consignment.FacilityContact", on_delete=models.PROTECT, null=True, blank=True,
        related_name="events",
    )
    manufacturer = models.ForeignKey(
        "inventory.Manufacturer", on_delete=models.PROTECT, related_name="events"
    )
    product_line = models.ForeignKey(
        "inventory.ProductLine", on_delete=models.PROTECT, related_name="events"
    )
    patient_id = models.CharField("Patient ID", max_length=64, blank=True)
    surgeon = models.CharField(max_length=200, blank=True)
    facility_stock_only = models.BooleanField(
        "Show Facility Stock items only", default=False,
        help_text="A case that uses the facility's stock (sold earlier by a stocking order).",
    )
    status = models.CharField(max_length=20, choices=EventStatus.choices, default="draft")
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # "Submit For Billing" is the rep's signature.
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signature_name = models.CharField(max_length=200, blank=True)
    # Cancel (void) a draft: kept in history with who, when and why.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(max_length=300, blank=True)

    objects = models.Manager.from_queryset(EventQuerySet)()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["organization", "representative", "date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(event_type__in=EventType.values), name="event_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=EventStatus.values), name="event_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(event_type=EventType.CASE) | Q(facility_stock_only=False),
                name="event_facility_stock_only_for_cases",
            ),
            # Rule 5: a submitted case has a patient ID.
            models.CheckConstraint(
                condition=Q(status__in=UNSUBMITTED)
                | ~Q(event_type=EventType.CASE)
                | ~Q(patient_id=""),
                name="event_submitted_case_has_patient_id",
            ),
            models.CheckConstraint(
                condition=Q(status__in=UNSUBMITTED)
                | Q(submitted_at__isnull=False, submitted_by__isnull=False)
                & ~Q(signature_name=""),
                name="event_submitted_is_signed",
            ),
            # A cancelled draft says who cancelled it and when.
            models.CheckConstraint(
                condition=~Q(status=EventStatus.CANCELLED)
                | Q(cancelled_at__isnull=False, cancelled_by__isnull=False),
                name="event_cancelled_has_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        # The name alone: names usually say what they are ("Case NG-001"), and pages show the
        # type next to it where it matters.
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.status == EventStatus.DRAFT

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    @property
    def is_case(self) -> bool:
        return self.event_type == EventType.CASE

    @property
    def is_stocking_order(self) -> bool:
        return self.event_type == EventType.STOCKING_ORDER

    @property
    def is_return(self) -> bool:
        return self.event_type == EventType.RETURN

    @property
    def is_billable(self) -> bool:
        """Facility-stock cases were billed by their stocking order: no PO, no invoice.

        A return is credited (credit memo), not billed.
        """
        return not (self.is_case and self.facility_stock_only) and not self.is_return


class EventLine(models.Model):
    """One device on an event.

    ``kind`` says whether the line sells the device (stocking order, case with rep inventory),
    records the use of facility stock sold earlier, or returns facility stock (a Return reverses
    the stocking order's sale; ``price`` is then the amount credited). ``committed`` is set when
    the event is submitted, so the database can refuse a second sale, a second use, a second
    return, or the return of used stock.
    """

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        USAGE = "usage", "Facility stock use"
        RETURN = "return", "Return"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="lines")
    device = models.ForeignKey(
        "inventory.Device", on_delete=models.PROTECT, related_name="event_lines"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SALE)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    sold_by = models.ForeignKey(
        Event, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="For facility stock: the stocking order that sold the device.",
    )
    committed = models.BooleanField(default=False)
    damaged = models.BooleanField(
        default=False, help_text="Return: the unit came back damaged (returned for destruction)."
    )
    returned_by = models.ForeignKey(
        Event, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Sale line: the Return that reversed this sale (the device may be sold again).",
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "device"], name="event_line_device_once"),
            models.CheckConstraint(condition=Q(price__gte=0), name="event_line_price_gte_0"),
            models.CheckConstraint(
                condition=Q(kind="sale") | Q(kind="usage", price=0, sold_by__isnull=False)
                | Q(kind="return", sold_by__isnull=False),
                name="event_line_usage_no_charge",
            ),
            models.CheckConstraint(
                condition=Q(damaged=False) | Q(kind="return"), name="event_line_damaged_on_return"
            ),
            models.CheckConstraint(
                condition=Q(returned_by__isnull=True) | Q(kind="sale", committed=True),
                name="event_line_returned_sale_only",
            ),
            # Impossible to double-bill: one committed sale (not yet reversed by a return) and
            # one committed use per device.
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(committed=True, kind="sale", returned_by__isnull=True),
                name="device_sold_once",
            ),
            # A sale is reversed once: by one use (the device is consumed) or by one return —
            # exactly one return of a device, never a return of consumed stock.
            models.UniqueConstraint(
                fields=["device", "sold_by"],
                condition=Q(committed=True, kind__in=["usage", "return"]),
                name="device_sale_used_or_returned_once",
            ),
            models.UniqueConstraint(
                fields=["device"], condition=Q(committed=True, kind="usage"),
                name="device_used_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.device_id} ({self.kind})"


class DocumentCounter(models.Model):
    """The last number issued per organisation and document type (locked when issuing)."""

    class DocType(models.TextChoices):
        SALES_ORDER = "SO", "Sales order"
        INVOICE = "INV", "Invoice"
        CREDIT_MEMO = "CM", "Credit memo"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    doc_type = models.CharField(max_length=8, choices=DocType.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "doc_type"], name="document_counter_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doc_type} #{self.last_number}"


def billing_upload_to(instance, filename: str) -> str:
    """Private storage path of a billing document: billing/<org>/<kind>/<file>."""
    kind = type(instance).__name__.lower()
    return f"billing/{instance.organization_id}/{kind}/{filename}"


# A rendered document is stored once with its hash: both set, or neither (not rendered yet).
_RENDERED_ONCE = Q(pdf="", sha256="") | (~Q(pdf="") & ~Q(sha256=""))


class IssuedDocument(models.Model):
    """What every numbered billing document has: its number in the organisation, when it was
    issued, its total, and its PDF — rendered once (events.billing), stored privately with its
    SHA-256 and served by a checked view. Each subclass adds its event link and constraints."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    number = models.CharField(max_length=20)
    issued_at = models.DateTimeField(default=timezone.now)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    pdf = models.FileField(upload_to=billing_upload_to, blank=True, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        abstract = True
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return self.number


class SalesOrder(IssuedDocument):
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="sales_order")

    class Meta(IssuedDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="sales_order_number_unique"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="sales_order_total_gte_0"),
            models.CheckConstraint(condition=_RENDERED_ONCE, name="sales_order_pdf_with_hash"),
        ]


class PurchaseOrder(models.Model):
    """The facility's purchase order for a billable event: its number, optionally its PDF."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="purchase_order")
    number = models.CharField("PO number", max_length=100)
    pdf = models.FileField(upload_to=billing_upload_to, blank=True, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="purchase_order_number_unique"
            ),
            models.CheckConstraint(condition=~Q(number=""), name="purchase_order_number_set"),
            models.CheckConstraint(condition=_RENDERED_ONCE, name="purchase_order_pdf_with_hash"),
        ]

    def __str__(self) -> str:
        # Facilities' PO numbers often say "PO" already: "PO-4471", never "PO PO-4471".
        return self.number if self.number.upper().startswith("PO") else f"PO {self.number}"


class Invoice(IssuedDocument):
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="invoice")
    issued_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta(IssuedDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="invoice_number_unique"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_gte_0"),
            models.CheckConstraint(condition=_RENDERED_ONCE, name="invoice_pdf_with_hash"),
            models.CheckConstraint(
                condition=Q(paid_at__isnull=True) | Q(paid_by__isnull=False),
                name="invoice_paid_by_set",
            ),
        ]


class CreditMemo(IssuedDocument):
    """The credit a Return gives the facility (CM-000001…): one per submitted return.

    Its lines are the return's lines; each names the stocking order that sold the device, and
    through it that order's sales order and invoice.
    """

    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="credit_memo")

    class Meta(IssuedDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="credit_memo_number_unique"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="credit_memo_total_gte_0"),
            models.CheckConstraint(condition=_RENDERED_ONCE, name="credit_memo_pdf_with_hash"),
        ]


class CommissionPlan(models.Model):
    """A commission rate; the most specific row wins (rep + line, rep, line, default)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    rep = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, null=True, blank=True,
        help_text="Empty: every rep.",
    )
    product_line = models.ForeignKey(
        "inventory.ProductLine", on_delete=models.CASCADE, null=True, blank=True,
        help_text="Empty: every product line.",
    )
    rate = models.DecimalField(
        max_digits=5, decimal_places=4,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="A fraction: 0.1000 is 10 %.",
    )
    stocking_share = models.DecimalField(
        max_digits=5, decimal_places=4, default=1,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Share of a stocking order's commission paid to the seller at sale; "
        "the rest goes to the covering rep when the device is used.",
    )

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0, rate__lte=1), name="commission_rate_fraction"
            ),
            models.CheckConstraint(
                condition=Q(stocking_share__gte=0, stocking_share__lte=1),
                name="commission_share_fraction",
            ),
            models.UniqueConstraint(
                fields=["organization", "rep", "product_line"],
                condition=Q(rep__isnull=False, product_line__isnull=False),
                name="commission_plan_rep_line_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "rep"],
                condition=Q(rep__isnull=False, product_line__isnull=True),
                name="commission_plan_rep_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "product_line"],
                condition=Q(rep__isnull=True, product_line__isnull=False),
                name="commission_plan_line_unique",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(rep__isnull=True, product_line__isnull=True),
                name="commission_plan_default_unique",
            ),
        ]

    def __str__(self) -> str:
        who = self.rep or "every rep"
        line = self.product_line or "every line"
        return f"{who} / {line}: {self.rate:.2%}"


class CommissionCredit(models.Model):
    """Money credited to a rep: a row per event, device and kind, never a recomputed total."""

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        USAGE = "usage", "Usage (covering rep)"
        CLAWBACK = "clawback", "Clawback (returned)"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    rep = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="commission_credits"
    )
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="commission_credits")
    device = models.ForeignKey(
        "inventory.Device", on_delete=models.PROTECT, related_name="commission_credits"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    base_price = models.DecimalField(max_digits=12, decimal_places=2)
    rate = models.DecimalField(max_digits=5, decimal_places=4)
    stocking_share = models.DecimalField(max_digits=5, decimal_places=4)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Statements (a rep's credits in a period) and the dashboards (a period).
            models.Index(fields=["rep", "created_at"], name="credit_rep_created"),
            models.Index(fields=["organization", "created_at"], name="credit_org_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "device", "kind"], name="commission_credit_once"
            ),
            # Credits are positive; a clawback (a returned sale) is negative.
            models.CheckConstraint(
                condition=Q(amount__gte=0) & ~Q(kind="clawback")
                | Q(amount__lte=0, kind="clawback"),
                name="commission_amount_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.kind} {self.amount}"
