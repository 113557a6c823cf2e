"""Does the facility's PO match the sales order? Read-only: imports no services.

``po_reconcile`` compares what the PO states with the event's committed sale lines:

- each product on the sales order and not on the PO: a **missing item**;
- each product on the PO and not on the sales order: an **extra item**;
- a product on both with another quantity: a **quantity** difference;
- a product on both at another unit price (the sales order's lines at one price; when its units
  carry several prices, e.g. one overridden, the PO's amount is compared with theirs): a
  **price** difference;
- the PO's total against the sales order's total: a **total** difference.

A PO without lines is compared on its total only; a PO without a total or lines (recorded before
reconciliation existed, or through the API without them) is "not checked", and does not hold up
the invoice. A mismatch needs "invoice anyway" with a reason (``billing.services.invoice_issue``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import TextChoices

from billing.models import PurchaseOrder, PurchaseOrderLine
from core.formatting import format_money
from events.models import Event, EventLine


class DifferenceKind(TextChoices):
    MISSING_ITEM = "missing_item", "Missing item"
    EXTRA_ITEM = "extra_item", "Item not on the sales order"
    QUANTITY = "quantity", "Quantity"
    PRICE = "price", "Price"
    TOTAL = "total", "Total"


class ReconcileStatus(TextChoices):
    MATCHED = "matched", "Matches the sales order"
    MISMATCH = "mismatch", "Does not match the sales order"
    NOT_CHECKED = "not_checked", "Not checked (the PO states no total or lines)"


@dataclass(frozen=True)
class Difference:
    kind: str  # a DifferenceKind
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Reconciliation:
    status: str
    differences: list[Difference] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.status == ReconcileStatus.MATCHED

    @property
    def mismatched(self) -> bool:
        return self.status == ReconcileStatus.MISMATCH

    @property
    def label(self) -> str:
        return ReconcileStatus(self.status).label

    def summary(self) -> str:
        return "\n".join(d.message for d in self.differences)


@dataclass
class _Ordered:
    reference: str
    quantity: int = 0
    amount: Decimal = Decimal("0.00")
    prices: set = field(default_factory=set)


def _units(n: int) -> str:
    return f"{n} unit{'s' if n != 1 else ''}"


def po_reconcile(
    *,
    event: Event,
    purchase_order: PurchaseOrder,
    currency: str = "USD",
    po_lines: list[PurchaseOrderLine] | None = None,
    order_total: Decimal | None = None,
) -> Reconciliation:
    """Compare ``purchase_order`` with ``event``'s sales order: two queries (the sales order's
    lines by product, the PO's lines), none when they are passed in."""
    if po_lines is None:
        po_lines = list(purchase_order.lines.select_related("product").order_by("id"))
    if purchase_order.total is None and not po_lines:
        return Reconciliation(ReconcileStatus.NOT_CHECKED)

    def money(value):
        return format_money(value, currency)

    ordered: dict[int, _Ordered] = {}
    for line in (
        EventLine.objects.filter(event=event, committed=True, kind=EventLine.Kind.SALE)
        .select_related("device__product")
        .only("price", "device__product__reference")
    ):
        product = line.device.product
        row = ordered.setdefault(product.pk, _Ordered(product.reference))
        row.quantity += 1
        row.amount += line.price
        row.prices.add(line.price)
    differences = []
    if po_lines:
        stated = {line.product_id: line for line in po_lines}
        for pk, row in ordered.items():
            line = stated.get(pk)
            if line is None:
                differences.append(
                    Difference(
                        DifferenceKind.MISSING_ITEM,
                        f"{row.reference} is on the sales order ({_units(row.quantity)}) but not "
                        "on the PO.",
                    )
                )
                continue
            if line.quantity != row.quantity:
                differences.append(
                    Difference(
                        DifferenceKind.QUANTITY,
                        f"{row.reference}: the PO orders {_units(line.quantity)}, the sales order "
                        f"has {row.quantity}.",
                    )
                )
            if len(row.prices) == 1:
                [price] = row.prices
                if line.price != price:
                    differences.append(
                        Difference(
                            DifferenceKind.PRICE,
                            f"{row.reference}: the PO's unit price is {money(line.price)}, the "
                            f"sales order's {money(price)}.",
                        )
                    )
            elif line.price * line.quantity != row.amount:
                differences.append(
                    Difference(
                        DifferenceKind.PRICE,
                        f"{row.reference}: the PO's amount is {money(line.price * line.quantity)}, "
                        f"the sales order's {money(row.amount)} (its units have different prices).",
                    )
                )
        for pk, line in stated.items():
            if pk not in ordered:
                differences.append(
                    Difference(
                        DifferenceKind.EXTRA_ITEM,
                        f"{line.product.reference} is on the PO ({_units(line.quantity)}) but not "
                        "on the sales order.",
                    )
                )
    if purchase_order.total is not None:
        if order_total is None:
            order_total = sum((row.amount for row in ordered.values()), Decimal("0.00"))
        if purchase_order.total != order_total:
            differences.append(
                Difference(
                    DifferenceKind.TOTAL,
                    f"The PO's total is {money(purchase_order.total)}; the sales order's is "
                    f"{money(order_total)}.",
                )
            )
    return Reconciliation(
        ReconcileStatus.MISMATCH if differences else ReconcileStatus.MATCHED, differences
    )
