"""Billing documents: sales orders, purchase orders, invoices, credit memos and their numbers.

Each is numbered per organisation (``DocumentCounter``, gap-free) and rendered once to a stored
PDF (``billing.services``).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.storage import billing_upload_to
from core.tenancy import TenantQuerySet


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


# A rendered document is stored once with its hash: both set, or neither (not rendered yet).
_RENDERED_ONCE = Q(pdf="", sha256="") | (~Q(pdf="") & ~Q(sha256=""))


class IssuedDocument(models.Model):
    """What every numbered billing document has: its number in the organisation, when it was
    issued, its total, and its PDF — rendered once (billing.services), stored privately with its
    SHA-256 and served by a checked view. Each subclass adds its event link and constraints."""

    # Indexed as (organization, id) by each document (the API's keyset pages within the
    # organisation), not alone.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT,
                                     db_index=False)
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
    event = models.OneToOneField(
        "events.Event", on_delete=models.PROTECT, related_name="sales_order"
    )

    class Meta(IssuedDocument.Meta):
        indexes = [
            # The API's keyset pages (newest id first) within the organisation.
            models.Index(fields=["organization", "id"], name="sales_order_org_id"),
            # Pending PO's count and amount (home, the list, its groups): each waiting event's
            # total read index-only by event, not a scan of every organisation's sales orders
            # hashed against the waiting events (272 → 66 ms at 31,752 waiting, 10M devices).
            models.Index(fields=["event"], include=["total"], name="sales_order_event_total"),
        ]
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
    event = models.OneToOneField(
        "events.Event", on_delete=models.PROTECT, related_name="purchase_order"
    )
    number = models.CharField("PO number", max_length=100)
    pdf = models.FileField(upload_to=billing_upload_to, blank=True, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    # What the PO states, compared with the sales order (billing.reconcile): its total and its
    # lines (PurchaseOrderLine), typed by the admin or read from the PDF's text.
    total = models.DecimalField("PO total", max_digits=14, decimal_places=2, null=True,
                                blank=True)

    class LinesSource(models.TextChoices):
        NONE = "", "No lines"
        TYPED = "typed", "Typed"
        PDF = "pdf", "Read from the PDF"

    lines_source = models.CharField(max_length=8, choices=LinesSource.choices, blank=True)
    corrected_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    corrected_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__isnull=True) | Q(total__gte=0),
                                   name="purchase_order_total_gte_0"),
            models.UniqueConstraint(
                fields=["organization", "number"], name="purchase_order_number_unique"
            ),
            models.CheckConstraint(condition=~Q(number=""), name="purchase_order_number_set"),
            models.CheckConstraint(condition=_RENDERED_ONCE, name="purchase_order_pdf_with_hash"),
        ]

    def __str__(self) -> str:
        # Facilities' PO numbers often say "PO" already: "PO-4471", never "PO PO-4471".
        return self.number if self.number.upper().startswith("PO") else f"PO {self.number}"


class PurchaseOrderLine(models.Model):
    """One line of a facility's PO: a product, the quantity ordered and the unit price."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE,
                                       related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    price = models.DecimalField("unit price", max_digits=12, decimal_places=2)

    objects = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"],
                                    name="purchase_order_line_product_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price__gte=0), name="po_line_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product} at {self.price}"


class Invoice(IssuedDocument):
    event = models.OneToOneField(
        "events.Event", on_delete=models.PROTECT, related_name="invoice"
    )
    issued_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Issued although the PO did not match the sales order ("invoice anyway"): why, and the
    # differences named at that moment (billing.reconcile), kept with the event's invoice.
    mismatch_reason = models.CharField("invoiced anyway because", max_length=300, blank=True)
    mismatch_differences = models.TextField(blank=True)

    class Meta(IssuedDocument.Meta):
        indexes = [
            # The API's keyset pages (newest id first) within the organisation.
            models.Index(fields=["organization", "id"], name="invoice_org_id"),
        ]
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
            models.CheckConstraint(
                condition=Q(mismatch_differences="") | ~Q(mismatch_reason=""),
                name="invoice_mismatch_has_reason",
            ),
        ]


class CreditMemo(IssuedDocument):
    """The credit a Return gives the facility (CM-000001…): one per submitted return.

    Its lines are the return's lines; each names the stocking order that sold the device, and
    through it that order's sales order and invoice.
    """

    event = models.OneToOneField(
        "events.Event", on_delete=models.PROTECT, related_name="credit_memo"
    )

    class Meta(IssuedDocument.Meta):
        indexes = [
            # The API's keyset pages (newest id first) within the organisation.
            models.Index(fields=["organization", "id"], name="credit_memo_org_id"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="credit_memo_number_unique"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="credit_memo_total_gte_0"),
            models.CheckConstraint(condition=_RENDERED_ONCE, name="credit_memo_pdf_with_hash"),
        ]
