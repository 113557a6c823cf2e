"""Events (cases, stocking orders and returns) and their lines.

Event.status changes only through ``events.services.set_status`` (the billing pipeline map).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from consignment.regions import region_events_q
from core.tenancy import TenantManager, TenantQuerySet


class EventType(models.TextChoices):
    CASE = "case", "Case"
    STOCKING_ORDER = "stocking_order", "Stocking Order"
    RETURN = "return", "Return"
    LOAN = "loan", "Loan"


class EventStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_PO = "pending_po", "Pending PO"
    READY_TO_INVOICE = "ready_to_invoice", "Ready to invoice"
    INVOICED = "invoiced", "Invoiced"
    PAID = "paid", "Paid"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    ON_LOAN = "on_loan", "On loan"

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
    EventStatus.ON_LOAN: "primary",
}


# The billing pipeline: each status and the statuses it may move to.
EVENT_TRANSITIONS: dict[str, set[str]] = {
    EventStatus.DRAFT: {EventStatus.PENDING_PO, EventStatus.CLOSED, EventStatus.CANCELLED,
                        EventStatus.ON_LOAN},
    EventStatus.PENDING_PO: {EventStatus.READY_TO_INVOICE},
    EventStatus.READY_TO_INVOICE: {EventStatus.INVOICED},
    EventStatus.INVOICED: {EventStatus.PAID},
    EventStatus.PAID: set(),
    EventStatus.CLOSED: set(),
    EventStatus.CANCELLED: set(),
    # A Loan: its kits are out until every one is checked in.
    EventStatus.ON_LOAN: {EventStatus.CLOSED},
}


# Statuses of an event that was never submitted for billing (no signature, no documents).
UNSUBMITTED = (EventStatus.DRAFT, EventStatus.CANCELLED)


class EventQuerySet(TenantQuerySet):
    def for_user(self, user):
        """Admins and managers: the organisation's events. Reps: their own. Regional managers:
        their region's (``consignment.regions``)."""
        qs = super().for_user(user)
        if getattr(user, "is_rep", False):
            qs = qs.filter(representative=user)
        elif getattr(user, "is_regional_manager", False):
            qs = qs.filter(region_events_q(user))
        return qs


class Event(models.Model):
    Type = EventType
    Status = EventStatus

    # Indexed as (organization, id), event_org_id in Meta.indexes, not alone.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     db_index=False)
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
    status = models.CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.DRAFT)
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
    # A scheduled case (created ahead): the time it starts, the directory's surgeon (its name is
    # also kept in ``surgeon``) and the procedure. It stays a draft until the day.
    scheduled_at = models.DateTimeField("Scheduled for", null=True, blank=True)
    physician = models.ForeignKey(
        "consignment.Surgeon", on_delete=models.PROTECT, null=True, blank=True,
        related_name="events",
    )
    procedure = models.ForeignKey(
        "events.Procedure", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    # A Loan: the kits lent to the facility for the case date, and when they are due back.
    due_back = models.DateField("Due back", null=True, blank=True)
    kits = models.ManyToManyField("inventory.Kit", blank=True, related_name="loans")
    # Swap: the draft Return of expiring units and the draft Stocking Order of fresh units point
    # to each other (the Return's ``swap_order``), so neither is submitted without the other seen.
    swap_order = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="swap_return",
    )
    # Create Event's hidden form token: a second post of the same form (Back, then Create again)
    # finds the draft the first one made instead of making another.
    create_key = models.UUIDField(null=True, blank=True, editable=False)

    objects = models.Manager.from_queryset(EventQuerySet)()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            # The API's keyset pages (newest id first) within the organisation.
            models.Index(fields=["organization", "id"], name="event_org_id"),
            # ... and of one type (the API's loans: a few rows among the cases and orders).
            models.Index(fields=["organization", "event_type", "id"], name="event_org_type_id"),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["organization", "representative", "date"]),
            # The dashboard's "where used" walks the organisation's events newest first, and
            # the events list pages them by date then id (many events share a date).
            models.Index(fields=["organization", "date", "id"], name="event_org_date_id"),
            # The Pending PO list and its oldest case (billing.ageing), without the other
            # statuses' rows.
            models.Index(fields=["organization", "date", "id"], name="event_pending_po",
                         condition=Q(status=EventStatus.PENDING_PO)),
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
                condition=Q(event_type=EventType.LOAN, due_back__isnull=False)
                | (~Q(event_type=EventType.LOAN) & Q(due_back__isnull=True)),
                name="event_due_back_on_loans_only",
            ),
            models.CheckConstraint(
                condition=Q(status__in=UNSUBMITTED)
                | Q(event_type=EventType.LOAN)
                | Q(submitted_at__isnull=False, submitted_by__isnull=False)
                & ~Q(signature_name=""),
                name="event_submitted_is_signed",
            ),
            models.UniqueConstraint(
                fields=["organization", "create_key"], name="event_create_key_once",
                condition=Q(create_key__isnull=False),
            ),
            models.CheckConstraint(
                condition=Q(swap_order__isnull=True) | Q(event_type=EventType.RETURN),
                name="event_swap_order_on_returns_only",
            ),
            models.CheckConstraint(
                condition=Q(event_type=EventType.CASE)
                | Q(scheduled_at__isnull=True, physician__isnull=True, procedure__isnull=True),
                name="event_schedule_on_cases_only",
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
    def is_loan(self) -> bool:
        return self.event_type == EventType.LOAN

    @property
    def is_billable(self) -> bool:
        """Facility-stock cases were billed by their stocking order: no PO, no invoice.

        A return is credited (credit memo), not billed.
        """
        return (not (self.is_case and self.facility_stock_only) and not self.is_return
                and not self.is_loan)


class Procedure(models.Model):
    """A surgical procedure in the organisation's directory (picked on a scheduled case)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)

    objects = TenantManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="procedure_name_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="procedure_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarFeed(models.Model):
    """A user's iCalendar feed: the secret of its URL, stored only as its SHA-256 hash.

    Resetting replaces the hash, so the old URL stops working at once.
    """

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE,
                                related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"


class LoanExtension(models.Model):
    """A Loan's due-back date moved later, with the reason (kept: the history of the loan)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="extensions")
    previous_due_back = models.DateField()
    due_back = models.DateField()
    reason = models.CharField(max_length=300)
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="loan_extension_has_reason"),
            models.CheckConstraint(condition=Q(due_back__gt=models.F("previous_due_back")),
                                   name="loan_extension_later"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: due back {self.due_back}"


class EventLineKind(models.TextChoices):
    """Use it as ``EventLine.Kind``."""

    SALE = "sale", "Sale"
    USAGE = "usage", "Facility stock use"
    RETURN = "return", "Return"


class EventLine(models.Model):
    """One device on an event.

    ``kind`` says whether the line sells the device (stocking order, case with rep inventory),
    records the use of facility stock sold earlier, or returns facility stock (a Return reverses
    the stocking order's sale; ``price`` is then the amount credited). ``committed`` is set when
    the event is submitted, so the database can refuse a second sale, a second use, a second
    return, or the return of used stock.
    """

    Kind = EventLineKind

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
    # The contract that priced a sale line (events.pricing): shown on the draft, frozen by
    # Submit For Billing with the price. Empty: list price, or an admin's override.
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, null=True, blank=True,
        related_name="lines",
    )
    # An admin's override of the price (events.pricing.event_line_price_override): why and who.
    price_override_reason = models.CharField(max_length=300, blank=True)
    price_overridden_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    price_overridden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The contract report reads only the lines a contract or an override priced.
            models.Index(fields=["contract"], name="event_line_priced",
                         condition=Q(contract__isnull=False) | ~Q(price_override_reason="")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "device"], name="event_line_device_once"),
            models.CheckConstraint(
                condition=Q(price_override_reason="", price_overridden_by__isnull=True,
                            price_overridden_at__isnull=True)
                | (~Q(price_override_reason="") & Q(price_overridden_by__isnull=False,
                                                     price_overridden_at__isnull=False,
                                                     kind=EventLineKind.SALE)),
                name="event_line_override_has_reason",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="event_line_price_gte_0"),
            models.CheckConstraint(
                condition=Q(kind=EventLineKind.SALE)
                | Q(kind=EventLineKind.USAGE, price=0, sold_by__isnull=False)
                | Q(kind=EventLineKind.RETURN, sold_by__isnull=False),
                name="event_line_usage_no_charge",
            ),
            models.CheckConstraint(
                condition=Q(damaged=False) | Q(kind=EventLineKind.RETURN),
                name="event_line_damaged_on_return",
            ),
            models.CheckConstraint(
                condition=Q(returned_by__isnull=True) | Q(kind=EventLineKind.SALE, committed=True),
                name="event_line_returned_sale_only",
            ),
            # Impossible to double-bill: one committed sale (not yet reversed by a return) and
            # one committed use per device.
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(committed=True, kind=EventLineKind.SALE, returned_by__isnull=True),
                name="device_sold_once",
            ),
            # A sale is reversed once: by one use (the device is consumed) or by one return —
            # exactly one return of a device, never a return of consumed stock.
            models.UniqueConstraint(
                fields=["device", "sold_by"],
                condition=Q(committed=True, kind__in=[EventLineKind.USAGE, EventLineKind.RETURN]),
                name="device_sale_used_or_returned_once",
            ),
            models.UniqueConstraint(
                fields=["device"], condition=Q(committed=True, kind=EventLineKind.USAGE),
                name="device_used_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.device_id} ({self.kind})"


class EventLineSummary(models.Model):
    """The committed lines of one event, counted and summed per product and line kind, with the
    facts of the event the reports group and filter by (a submitted event never changes).

    The sales, usage and dashboard reports read these rows instead of joining every line of a
    period to its event and its device (at a million devices a year of an organisation's lines is
    ~200k rows; its summary ~75k, without joins). Written only by
    ``events.services.event_line_summary_add``, in the transaction that commits the lines (Submit
    For Billing), so a summary exists exactly when its lines are committed;
    ``event_line_summary_rebuild`` recounts everything (data loaded with COPY).
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="line_summaries", db_index=False
    )
    date = models.DateField()
    event_type = models.CharField(max_length=20, choices=EventType.choices)
    representative = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+"
    )
    facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, related_name="+"
    )
    surgeon = models.CharField(max_length=200, blank=True)
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=EventLineKind.choices)
    lines = models.PositiveIntegerField(help_text="How many committed lines.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Their prices.")
    sold_amount = models.DecimalField(
        max_digits=14, decimal_places=2,
        help_text="Use and return lines: the prices of the sales they consume or reverse.",
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["organization", "date"], name="event_line_summary_org_date"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "product", "kind"],
                                    name="event_line_summary_once"),
            models.CheckConstraint(condition=Q(lines__gt=0), name="event_line_summary_lines"),
            models.CheckConstraint(condition=Q(kind__in=EventLineKind.values),
                                   name="event_line_summary_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.lines} × {self.product_id} ({self.kind})"


from events.request_models import (  # noqa: E402, F401
    InventoryRequest,
    InventoryRequestLine,
    InventoryRequestStatus,
)
from events.signoff_models import CaseSignOff  # noqa: E402, F401
