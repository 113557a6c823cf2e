"""Contract reports: sales by facility and contract, and the price overrides, over committed sale
lines (their prices are the ones frozen at Submit For Billing). A rep sees their own events only.

The sales read the line summary for the totals and only the contract- or override-priced lines
(partial index ``event_line_priced``); the overrides list reads only the lines an admin priced by
hand, newest first, capped for the page.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from consignment.models import Facility
from events.models import EventLine
from reporting.selectors.scope import ReportFilters, Scope, line_summary

OVERRIDES_SHOWN = 500


def _lines(scope: Scope, filters: ReportFilters):
    qs = EventLine.objects.filter(
        event__organization_id=scope.organization_id,
        committed=True,
        kind=EventLine.Kind.SALE,
        event__date__gte=filters.date_from,
        event__date__lte=filters.date_to,
    )
    if scope.rep_id is not None:
        qs = qs.filter(event__representative_id=scope.rep_id)
    qs = qs.filter(scope.events_q("event__"))
    if filters.facility_id:
        qs = qs.filter(event__facility_id=filters.facility_id)
    if filters.product_line_id:
        qs = qs.filter(device__product__product_line_id=filters.product_line_id)
    return qs


def _priced(scope: Scope, filters: ReportFilters):
    """The period's committed sale lines a contract or an override priced: read through the
    partial index ``event_line_priced`` (a few of all the lines)."""
    return _lines(scope, filters).filter(Q(contract__isnull=False) | ~Q(price_override_reason=""))


def sales_by_contract(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Per facility and contract ("" = no contract: list price, or an override): units, amount
    billed, the list price of the same units, the difference, and how many were overridden.

    Two reads: every sale of the period per facility from the line summary
    (``EventLineSummary``, no join to lines), and the contract- or override-priced lines; the
    "no contract" row of a facility is its total less its contract rows."""
    by_facility = list(
        line_summary(scope, filters, own_numbers=True)
        # Grouped by the facility's id (hashed integers), not its name: the names are read
        # after, for the few rows.
        .filter(kind=EventLine.Kind.SALE)
        .order_by()
        .values("facility_id")
        .annotate(
            units=Sum("lines"),
            amount=Sum("amount"),
            list_amount=Sum(F("lines") * F("product__unit_price")),
        )
    )
    names = dict(Facility.objects.filter(pk__in=[row["facility_id"] for row in by_facility])
                 .values_list("pk", "name"))
    totals: dict[str, dict] = {}  # by facility name, as the priced lines are
    for row in by_facility:
        total = totals.setdefault(names[row["facility_id"]], {
            "units": 0, "amount": Decimal("0.00"), "list_amount": Decimal("0.00")})
        for key in total:
            total[key] += row[key]
    priced = (
        _priced(scope, filters)
        .order_by()
        .values("event__facility__name", "contract__name")
        .annotate(
            units=Count("id"),
            amount=Sum("price"),
            list_amount=Sum("device__product__unit_price"),
            overrides=Count("id", filter=~Q(price_override_reason="")),
        )
    )
    rows: dict[tuple[str, str], dict] = {}
    for row in priced:
        key = (row["event__facility__name"], row["contract__name"] or "")
        rows[key] = {
            "facility": key[0],
            "contract": key[1],
            "units": row["units"],
            "amount": row["amount"],
            "list_amount": row["list_amount"],
            "overrides": row["overrides"],
        }
    for facility, total in totals.items():
        contracted = [r for (f, c), r in rows.items() if f == facility and c]
        rest = rows.setdefault(
            (facility, ""),
            {
                "facility": facility,
                "contract": "",
                "units": 0,
                "amount": Decimal("0.00"),
                "list_amount": Decimal("0.00"),
                "overrides": 0,
            },
        )
        rest["units"] = total["units"] - sum(r["units"] for r in contracted)
        rest["amount"] = total["amount"] - sum(r["amount"] for r in contracted)
        rest["list_amount"] = total["list_amount"] - sum(r["list_amount"] for r in contracted)
    out = [r for r in rows.values() if r["units"]]
    for row in out:
        row["discount"] = row["list_amount"] - row["amount"]
    return sorted(out, key=lambda r: (r["facility"], r["contract"] == "", r["contract"]))


def price_overrides(scope: Scope, filters: ReportFilters, limit: int | None = OVERRIDES_SHOWN):
    """The committed lines whose price an admin overrode, newest event first."""
    qs = (
        _lines(scope, filters)
        .exclude(price_override_reason="")
        .select_related(
            "event__facility", "event__representative", "device__product", "price_overridden_by"
        )
        .order_by("-event__date", "-id")
    )
    return qs[:limit] if limit else qs


def price_override_counts(scope: Scope, filters: ReportFilters) -> dict:
    """How many lines were overridden, and by how much below (or above) list price, in all."""
    totals = (
        _lines(scope, filters)
        .exclude(price_override_reason="")
        .aggregate(
            n=Count("id"), amount=Sum("price"), list_amount=Sum("device__product__unit_price")
        )
    )
    return {
        "count": totals["n"],
        "amount": totals["amount"] or Decimal("0.00"),
        "list_amount": totals["list_amount"] or Decimal("0.00"),
    }
