"""Commission plans (rates) and credits (money credited, or clawed back, per device).

Credits are written by billing's Submit For Billing (``commissions.services``) and are rows,
never recomputed totals: a statement for any period is a sum.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.tenancy import TenantQuerySet


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


class CreditKind(models.TextChoices):
    """Use it as ``CommissionCredit.Kind``."""

    SALE = "sale", "Sale"
    USAGE = "usage", "Usage (covering rep)"
    CLAWBACK = "clawback", "Clawback (returned)"


class CommissionCredit(models.Model):
    """Money credited to a rep: a row per event, device and kind, never a recomputed total."""

    Kind = CreditKind

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    rep = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="commission_credits"
    )
    event = models.ForeignKey(
        "events.Event", on_delete=models.PROTECT, related_name="commission_credits"
    )
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
                condition=Q(amount__gte=0) & ~Q(kind=CreditKind.CLAWBACK)
                | Q(amount__lte=0, kind=CreditKind.CLAWBACK),
                name="commission_amount_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.kind} {self.amount}"


class CommissionCreditSummary(models.Model):
    """The credits of one event, counted and summed per rep, kind, product and time credited,
    with the event's type and facility (a submitted event never changes).

    The dashboard's facility-stock commissions read these rows instead of joining every credit
    of a period to its event (a year of a large organisation: ~136k credits, ~53k summary rows).
    Written only by ``commissions.services.commission_summary_add`` in the transaction that
    writes the credits (Submit For Billing, a Return's clawbacks); credits are never changed
    afterwards (a payout sets ``paid_at`` only). ``commission_summary_rebuild`` recounts
    everything (data loaded with COPY).
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    event = models.ForeignKey(
        "events.Event", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    event_type = models.CharField(max_length=20)
    facility = models.ForeignKey(
        "consignment.Facility", on_delete=models.PROTECT, related_name="+"
    )
    rep = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=CreditKind.choices)
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    credits = models.PositiveIntegerField(help_text="How many credits.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Their sum.")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="credit_summary_org_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "rep", "kind", "product", "created_at"],
                                    name="credit_summary_once"),
            models.CheckConstraint(condition=Q(credits__gt=0), name="credit_summary_credits"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.credits} × {self.kind} {self.amount}"
