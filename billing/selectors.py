"""Billing reads: the billing queue, its status counts, the event page's billing figures and an
invoice's credits and balance. Nothing here imports the services."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from billing.models import Invoice, PurchaseOrder, SalesOrder
from billing.reconcile import po_reconcile
from events.models import UNSUBMITTED, Event, EventLine, EventStatus
from events.policy import NOT_BILLED

# The statuses the queue shows: a submitted sale or return. A loan (``NOT_BILLED``: its kits are
# lent, nothing is sold) is never in the queue, so neither is its "On loan".
QUEUE_STATUSES = tuple(
    value for value in EventStatus.values
    if value not in UNSUBMITTED and value != EventStatus.ON_LOAN
)


def _queued(user: User):
    """The user's submitted events that billing handles: no draft, no cancelled, no loan."""
    return (
        Event.objects.for_user(user).exclude(status__in=UNSUBMITTED)
        .exclude(event_type__in=NOT_BILLED)
    )


def invoice_of(event: Event | None) -> Invoice | None:
    if event is None:
        return None
    try:
        return event.invoice
    except Invoice.DoesNotExist:
        return None


def invoice_credits(*, invoice: Invoice) -> Decimal:
    """What credit memos have credited against the stocking order this invoice bills."""
    return EventLine.objects.filter(
        sold_by_id=invoice.event_id, kind=EventLine.Kind.RETURN, committed=True
    ).aggregate(total=Sum("price"))["total"] or Decimal("0.00")


def invoice_balance(*, invoice: Invoice) -> Decimal:
    """The invoice total less the credits of returns of devices it billed."""
    return invoice.total - invoice_credits(invoice=invoice)


def billing_queue(
    *, user: User, status: str = "", facility=None, rep=None,
    date_from: datetime.date | None = None, date_to: datetime.date | None = None,
):
    """Submitted sales and returns the user may see (no loan: a loan is not billed), with their
    billing documents, newest first.

    Each carries ``credited`` (what returns of its devices credited) and ``invoice_balance``.
    """
    credited = (
        EventLine.objects.filter(
            sold_by=OuterRef("pk"), kind=EventLine.Kind.RETURN, committed=True
        ).order_by().values("sold_by").annotate(total=Sum("price")).values("total")
    )
    qs = (
        _queued(user)
        .select_related(
            "facility", "representative", "sales_order", "purchase_order", "invoice",
            "credit_memo",
        )
        .annotate(credited=Coalesce(
            Subquery(credited), Value(Decimal("0.00")),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ))
        .annotate(invoice_balance=F("invoice__total") - F("credited"))
        # How many of its lines an admin priced by hand (shown in the queue; events.pricing).
        .annotate(price_overrides=Subquery(
            EventLine.objects.filter(event=OuterRef("pk")).exclude(price_override_reason="")
            .order_by().values("event").annotate(n=Count("id")).values("n")
        ))
        .order_by("-date", "-id")
    )
    if status:
        qs = qs.filter(status=status)
    if facility is not None:
        qs = qs.filter(facility=facility)
    if rep is not None:
        qs = qs.filter(representative=rep)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    return qs


def billing_status_counts(*, user: User) -> dict[str, int]:
    """How many of the user's billed events are in each billing status (one query)."""
    rows = (
        _queued(user).order_by().values("status").annotate(n=Count("id"))
    )
    counts = dict.fromkeys(QUEUE_STATUSES, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def credited_orders(*, event: Event) -> list[Event]:
    """The stocking orders a Return's lines reverse, with their sales orders and invoices."""
    return list(
        Event.objects.filter(
            pk__in=EventLine.objects.filter(event=event).values("sold_by_id")
        ).select_related("sales_order", "invoice").order_by("date", "id")
    )


def billing_figures(*, event: Event) -> dict:
    """What the event page's billing panel shows besides the documents: a return's credited
    orders; a sale's invoice credits (returns) and balance."""
    if event.is_draft:
        return {}
    if event.is_return:
        return {"credited_orders": credited_orders(event=event)}
    figures = {}
    purchase_order = PurchaseOrder.objects.filter(event=event).first()
    if purchase_order is not None:
        # What the PO states against the sales order (billing.reconcile): matched, or each
        # difference named.
        figures["po_lines"] = list(purchase_order.lines.select_related("product").order_by("id"))
        order = SalesOrder.objects.filter(event=event).only("total").first()
        figures["reconciliation"] = po_reconcile(
            event=event, purchase_order=purchase_order, currency=event.organization.currency,
            po_lines=figures["po_lines"], order_total=order.total if order else None,
        )
    invoice = invoice_of(event)
    if invoice is None:
        return figures
    credits = invoice_credits(invoice=invoice)
    return {**figures, "invoice_credits": credits, "invoice_balance": invoice.total - credits}
