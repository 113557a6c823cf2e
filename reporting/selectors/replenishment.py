"""Replenishment (products of a facility below par or short of cover, with a suggested quantity)
and the swap summary that feeds it."""

from __future__ import annotations

import datetime
import math

from django.db.models import Count, QuerySet

from events.models import Event
from inventory.selectors import sellable_devices
from reporting.selectors.scope import USE_WINDOW_DAYS, ReportFilters, Scope
from reporting.selectors.usage import days_of_cover


def replenishment_rows(scope: Scope, *, facility_id: int, cover_target: int,
                       today: datetime.date, rep_id: int | None = None) -> list[dict]:
    """Products of a facility below par or under ``cover_target`` days of cover, with a suggested
    quantity: enough to reach par and ``cover_target`` days of average use. With ``rep_id``, how
    many matching devices that rep can put on a stocking order (available, unexpired, not in
    transit) is given per product."""
    filters = ReportFilters.default(today, facility_id=facility_id)
    rows = []
    for row in days_of_cover(scope, filters):
        below_par = row["par"] is not None and row["on_hand"] < row["par"]
        short_cover = row["cover_days"] is not None and row["cover_days"] < cover_target
        if not (below_par or short_cover):
            continue
        wanted = math.ceil(row["used"] * cover_target / USE_WINDOW_DAYS)
        row["suggested"] = max((row["par"] or 0) - row["on_hand"], wanted - row["on_hand"], 0)
        row["below_par"], row["short_cover"] = below_par, short_cover
        rows.append(row)
    if rep_id is not None and rows:
        counts = dict(
            replenishment_devices(
                organization_id=scope.organization_id, rep_id=rep_id,
                product_ids=[r["product_id"] for r in rows], today=today,
            ).order_by().values("product_id").annotate(n=Count("pk")).values_list("product_id", "n")
        )
        for row in rows:
            row["available"] = counts.get(row["product_id"], 0)
    rows.sort(key=lambda r: (r["product_line"], r["reference"]))
    return rows


def replenishment_devices(*, organization_id: int, rep_id: int, product_ids,
                          today: datetime.date) -> QuerySet:
    """Devices a rep can put on a stocking order (``sellable_devices``: AVAILABLE in their
    custody, unexpired, not in transit), soonest expiry first."""
    return (
        sellable_devices(organization_id=organization_id, custodian_id=rep_id, today=today)
        .filter(product_id__in=product_ids)
        .select_related("product__product_line")
        .order_by("expiration_date", "pk")
    )


def swap_summary(*, return_event: Event, stocking_order: Event | None) -> dict:
    """A swap's lines and its shortfalls: per product, units returned beyond those replaced."""
    returned = list(return_event.lines.select_related("device__product").order_by(
        "device__product__reference", "device__expiration_date", "pk"))
    fresh = list(stocking_order.lines.select_related("device__product").order_by(
        "device__product__reference", "-device__expiration_date", "pk")) if stocking_order else []
    counts: dict = {}
    for line in returned:
        counts.setdefault(line.device.product, [0, 0])[0] += 1
    for line in fresh:
        counts.setdefault(line.device.product, [0, 0])[1] += 1
    shortfalls = [{"product": product, "returned": r, "replaced": f, "short": r - f}
                  for product, (r, f) in sorted(counts.items(), key=lambda kv: kv[0].reference)
                  if r > f]
    return {"returned_lines": returned, "fresh_lines": fresh, "shortfalls": shortfalls}
