"""A sale line's price: the facility's contract, or an admin's override.

The policy says which lines a contract prices (``EventPolicy.contract_priced``: a case with rep
stock and a stocking order). On a draft, each such line shows the price of the contract in force
at the event's facility on the event's date, and the contract that gave it
(``draft_line_prices``, one query for the whole draft: ``contracts.selectors.contract_prices``).
Submit For Billing freezes it on the line, with its contract (``freeze_line_prices``, called by
``billing.submit``, inside its transaction, under its locks); afterwards nothing changes it, even
when the contract does. An admin may override a draft line's price with a reason
(``event_line_price_override``): the override is kept at submit and shown on the event, in the
billing queue, on the sales order and in the price-override report.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from contracts.selectors import ResolvedPrice, contract_prices
from core.db import service_transaction
from core.permissions import ensure_same_organization
from events.models import Event, EventLine
from events.policy import NOT_BILLED, policy_for
from events.services import ensure_draft, lock_event

OVERRIDE_REASON_MAX = EventLine._meta.get_field("price_override_reason").max_length
PRICE_MAX = Decimal("9999999999.99")


def _resolve(event: Event, lines: list[EventLine], on: datetime.date) -> dict[int, ResolvedPrice]:
    return contract_prices(
        organization_id=event.organization_id,
        facility_id=event.facility_id,
        on=on,
        products={line.device.product_id: line.device.product for line in lines}.values(),
    )


def draft_line_prices(*, event: Event, lines: list[EventLine]) -> list[EventLine]:
    """Set each draft sale line's ``price`` (not saved) and ``priced_by`` (the ``ResolvedPrice``)
    to what Submit For Billing would freeze today: the contract in force on the event's date, the
    list price without one; an overridden line keeps its price. One query; none when the event
    is not a draft or not contract-priced. ``lines`` carry their devices and products."""
    if not event.is_draft or event.event_type in NOT_BILLED:
        return lines
    if not policy_for(event).contract_priced:
        return lines
    priced = [line for line in lines if not line.price_override_reason]
    resolved = _resolve(event, priced, event.date) if priced else {}
    for line in priced:
        line.priced_by = resolved[line.device.product_id]
        line.price = line.priced_by.price
        line.contract = line.priced_by.contract
    return lines


def freeze_line_prices(*, event: Event, lines: list[EventLine]) -> None:
    """Submit For Billing: write each line's contract price (or list price) and its contract,
    overrides aside. Called inside the submit's transaction, the event and devices locked."""
    if not policy_for(event).contract_priced:
        return
    priced = [line for line in lines if not line.price_override_reason]
    if not priced:
        return
    resolved = _resolve(event, priced, event.date)
    changed = []
    for line in priced:
        hit = resolved[line.device.product_id]
        if (line.price, line.contract_id) != (hit.price, getattr(hit.contract, "pk", None)):
            line.price, line.contract = hit.price, hit.contract
            changed.append(line)
    if changed:  # one UPDATE, whatever the number of lines
        EventLine.objects.bulk_update(changed, ["price", "contract"])


def _price(value) -> Decimal:
    try:
        price = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({"price": "Enter the price as a number."}) from None
    if not price.is_finite() or price < 0 or price > PRICE_MAX:
        raise ValidationError({"price": "Enter a price of 0 or more."})
    if price != price.quantize(Decimal("0.01")):
        raise ValidationError({"price": "Enter the price with at most 2 decimals."})
    return price


@service_transaction
def event_line_price_override(
    *,
    actor: User,
    event: Event,
    line: EventLine,
    price,
    reason: str,
) -> EventLine:
    """An admin sets a draft sale line's price by hand, with the reason (kept and shown)."""
    ensure_permission(actor, "override_prices")
    ensure_same_organization(actor, event)
    event = lock_event(event)
    ensure_draft(event)
    line = EventLine.objects.select_for_update(of=("self",), no_key=True).get(
        pk=line.pk, event=event
    )
    if line.kind != EventLine.Kind.SALE or not policy_for(event).contract_priced:
        raise ValidationError("Only a sale line's price can be overridden.", code="not_sale")
    price = _price(price)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(
            {
                "reason": "Say why the price is overridden (it is shown on the "
                "event, the billing queue and the sales order)."
            }
        )
    if len(reason) > OVERRIDE_REASON_MAX:
        raise ValidationError(
            {"reason": f"Keep the reason under {OVERRIDE_REASON_MAX} characters."}
        )
    line.price, line.contract = price, None
    line.price_override_reason = reason
    line.price_overridden_by = actor
    line.price_overridden_at = timezone.now()
    line.save(
        update_fields=[
            "price",
            "contract",
            "price_override_reason",
            "price_overridden_by",
            "price_overridden_at",
        ]
    )
    return line


@service_transaction
def event_line_price_reset(*, actor: User, event: Event, line: EventLine) -> EventLine:
    """Drop a draft line's override: the contract (or list) price applies again."""
    ensure_permission(actor, "override_prices")
    ensure_same_organization(actor, event)
    event = lock_event(event)
    ensure_draft(event)
    line = (
        EventLine.objects.select_for_update(of=("self",), no_key=True)
        .select_related("device__product")
        .get(pk=line.pk, event=event)
    )
    line.price = line.device.product.unit_price
    line.price_override_reason, line.price_overridden_by, line.price_overridden_at = "", None, None
    line.save(
        update_fields=[
            "price",
            "price_override_reason",
            "price_overridden_by",
            "price_overridden_at",
        ]
    )
    return line
