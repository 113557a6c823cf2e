"""The stock-low alert: a use case that takes a facility's stock of a product below its par level
(``consignment.ParLevel``) announces ``stock.low`` through the outbox, in its own transaction
(``core.outbox.emit``: the message commits or rolls back with the change; webhooks deliver it).

A use case that may take units out of facility stock (Submit For Billing of a Case using
facility stock or of a Return, ``billing.submit``; a Stock Adjustment removing or moving facility
stock, ``inventory.services``) counts the units leaving per (facility, product) from its locked
devices before it moves them (``facility_stock_pairs``) and calls ``stock_low_emit`` after.
On hand is unexpired facility stock, as the Facility Stock dashboard counts it
(``reporting.selectors.stock``). A pair is announced when this change crossed its par level:
on hand before ≥ minimum > on hand after; a change that leaves stock already below par says
nothing again. Two races that each take the last unit above par may both announce it: deliveries
are at least once, and the payload carries the figures.

At most two queries (the par levels of the pairs, then their on-hand counts), whatever the number
of devices; none when no device leaves facility stock.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable

from django.db.models import Count, Q

from consignment.models import ParLevel
from core.outbox import OutboxKind, emit
from inventory.models import Device, DeviceStatus


def facility_stock_pairs(
    devices: Iterable[Device], *, today: datetime.date
) -> dict[int, tuple[int, int]]:
    """Device id → (facility id, product id) for the unexpired facility-stock units among
    ``devices``, as they are now: call it before the lifecycle moves them, and pass the result
    to ``stock_low_emit`` after."""
    return {
        d.pk: (d.facility_id, d.product_id)
        for d in devices
        if d.status == DeviceStatus.FACILITY_STOCK
        and d.facility_id is not None
        and d.expiration_date >= today
    }


def stock_low_emit(
    *,
    organization_id: int,
    before: dict[int, tuple[int, int]],
    devices: Iterable[Device],
    today: datetime.date,
    cause: dict,
) -> list[dict]:
    """Announce ``stock.low`` for each pair the move of ``devices`` took below its par level
    (``before``: ``facility_stock_pairs`` of the same devices before the move; call it after,
    in the same transaction); returns the payloads emitted. ``cause`` names what did it
    (``{"event": id}`` or ``{"adjustment": id}``). Units arriving at a pair in the same change
    (a move between facilities, a restore) count against those leaving it."""
    net = Counter(before.values())
    net.subtract(facility_stock_pairs(devices, today=today).values())
    leaving = {pair: n for pair, n in net.items() if n > 0}
    if not leaving:
        return []
    facilities = {f for f, _ in leaving}
    products = {p for _, p in leaving}
    pars = {
        (par.facility_id, par.product_id): par
        for par in ParLevel.objects.filter(
            organization_id=organization_id,
            facility_id__in=facilities,
            product_id__in=products,
            minimum__gt=0,
        ).select_related("facility", "product")
        if (par.facility_id, par.product_id) in leaving
    }
    if not pars:
        return []
    on_hand = {
        (row["facility_id"], row["product_id"]): row["n"]
        for row in Device.objects.filter(
            organization_id=organization_id,
            status=DeviceStatus.FACILITY_STOCK,
            expiration_date__gte=today,
        )
        .filter(Q.create([Q(facility_id=f, product_id=p) for f, p in pars], connector=Q.OR))
        .order_by()
        .values("facility_id", "product_id")
        .annotate(n=Count("id"))
    }
    emitted = []
    for key in sorted(pars):
        par = pars[key]
        after = on_hand.get(key, 0)
        if after < par.minimum <= after + leaving[key]:
            payload = {
                "facility": {"id": par.facility_id, "name": par.facility.name},
                "product": {
                    "id": par.product_id,
                    "reference": par.product.reference,
                    "description": par.product.description,
                },
                "par": par.minimum,
                "on_hand": after,
                "shortfall": par.minimum - after,
                "cause": cause,
            }
            emit(kind=OutboxKind.STOCK_LOW, organization_id=organization_id, payload=payload)
            emitted.append(payload)
    return emitted
