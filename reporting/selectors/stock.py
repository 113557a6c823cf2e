"""The Facility Stock Sales dashboard: stock against par, low stock, expiring stock, sales vs use
per month, where facility stock was used, commissions from facility stock; and the stock alerts.
The page and its CSV exports read the same function per figure (the page its first rows)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncMonth

from commissions.models import CommissionCredit, CommissionCreditSummary
from core.dates import day_range
from events.models import EventLine, EventType
from inventory.models import Device
from reporting.selectors.scope import (
    ReportFilters,
    Scope,
    committed_lines,
    facility_stock,
    line_summary,
    par_levels,
)
from reporting.selectors.sql import NAMED_FIELDS, by_name, fetch, month, named, ranks

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)
EXPIRY_BUCKETS = (("expired", "Expired"), ("30", "Within 30 days"), ("60", "In 31–60 days"),
                  ("90", "In 61–90 days"))


# --- stock against par and low stock -----------------------------------------------------------


def stock_sql(scope: Scope, filters: ReportFilters) -> tuple[str, list]:
    """Unexpired facility stock on hand per facility and product against its par level, as SQL
    without names: facility_id, product_id, par (NULL without a par level), on_hand. Par levels
    FULL JOIN the on-hand counts (grouped by ids, index-only on ``device_org_facility_stock``):
    the same filters apply to both sides. Expired devices are not on hand (they can't be used;
    the expiry lists show them)."""
    on_hand = (facility_stock(scope, filters).filter(expiration_date__gte=filters.today)
               .order_by().values("facility_id", "product_id").annotate(n=Count("*")))
    par = par_levels(scope, filters).order_by().values("facility_id", "product_id", "minimum")
    par_sql, par_params = par.query.sql_with_params()
    on_sql, on_params = on_hand.query.sql_with_params()
    sql = (
        "SELECT COALESCE(p.facility_id, o.facility_id) AS facility_id, "
        "COALESCE(p.product_id, o.product_id) AS product_id, p.par, "
        "COALESCE(o.on_hand, 0) AS on_hand "
        f"FROM ({par_sql}) AS p (facility_id, product_id, par) "
        f"FULL JOIN ({on_sql}) AS o (facility_id, product_id, on_hand) "
        "ON o.facility_id = p.facility_id AND o.product_id = p.product_id"
    )
    return sql, [*par_params, *on_params]


def _by_shortfall(row: dict) -> tuple:
    return -row["shortfall"], *by_name(row)


def stock_overview(scope: Scope, filters: ReportFilters, *, limit: int | None) -> dict:
    """Stock against par and low stock: ``stock`` (per facility and product, by facility name
    and catalogue number), ``low`` (the rows below par, the biggest shortfall first), each the
    first ``limit`` rows (None: all, as the CSV exports), with ``stock_count``, ``low_count``
    and ``stock_on_hand`` (units).

    One query, so that the ~20k facility × product rows of a large organisation are never built
    in Python for the page: the rows (by ids) are counted, and each table's first rows taken
    with a top-N sort on integers — the rank of the facility's name and of the product's
    reference among the organisation's (``DENSE_RANK``, code-point order, equal names equal
    ranks), then the ids — so that the names are joined to the rows shown only."""
    sql, params = stock_sql(scope, filters)
    rank_sql, rank_params = ranks(scope.organization_id)
    order = "f_rank, p_rank, facility_id, product_id"
    columns = "facility_id, product_id, par, on_hand, shortfall"
    with_ranks = (
        f"WITH fs_s AS ({sql}), "
        f"{rank_sql}, "
        "fs_rows AS (SELECT fs_s.*, GREATEST(COALESCE(par - on_hand, 0), 0) AS shortfall, "
        "(par IS NOT NULL AND on_hand < par) AS low, fs_fr.r AS f_rank, fs_pr.r AS p_rank "
        "FROM fs_s JOIN fs_fr ON fs_fr.id = fs_s.facility_id "
        "JOIN fs_pr ON fs_pr.id = fs_s.product_id) "
    )
    shown = (
        f"SELECT %s AS part, {columns} FROM (SELECT * FROM fs_rows ORDER BY {order} "
        "LIMIT %s) AS fs_stock "
        f"UNION ALL SELECT %s, {columns} FROM (SELECT * FROM fs_rows WHERE low "
        f"ORDER BY shortfall DESC, {order} LIMIT %s) AS fs_low"
    )
    fetched = fetch(
        f"{with_ranks}SELECT fs_t.part, {', '.join(NAMED_FIELDS)}, par, on_hand, shortfall "
        f"FROM ({named(f'SELECT * FROM ({shown}) AS fs_shown')}) AS fs_t "
        "UNION ALL SELECT %s, COUNT(*), SUM(on_hand), NULL, NULL, NULL, NULL, NULL, "
        "COUNT(*) FILTER (WHERE low), NULL FROM fs_rows",
        [*params, *rank_params, "stock", limit, "low", limit, "totals"],
    )
    [totals] = [r for r in fetched if r["part"] == "totals"]
    keep = (*NAMED_FIELDS, "par", "on_hand", "shortfall")

    def table(part: str, key) -> list[dict]:
        return sorted(({k: r[k] for k in keep} for r in fetched if r["part"] == part), key=key)

    return {"stock": table("stock", by_name), "stock_count": totals["facility_id"],
            "stock_on_hand": int(totals["product_id"] or 0),
            "low": table("low", _by_shortfall), "low_count": totals["on_hand"]}


def stock_against_par(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Every row of ``stock_overview``'s stock table (the CSV export)."""
    return stock_overview(scope, filters, limit=None)["stock"]


def low_stock(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Every row of ``stock_overview``'s low-stock table (the CSV export, the alerts)."""
    return stock_overview(scope, filters, limit=None)["low"]


# --- expiring stock ----------------------------------------------------------------------------


def expiring_stock(scope: Scope, filters: ReportFilters, *, days: int = 90) -> QuerySet:
    """Facility stock already expired or expiring within ``days``, with an exclusive ``bucket``:
    expired (before today), 30 (today … +30), 60 (+31 … +60), 90 (+61 … +90)."""
    today = filters.today
    whens = [When(expiration_date__lt=today, then=Value("expired"))]
    for limit in (30, 60, 90):
        if limit <= days:
            whens.append(When(
                expiration_date__lte=today + datetime.timedelta(days=limit),
                then=Value(str(limit)),
            ))
    return (
        facility_stock(scope, filters)
        .filter(expiration_date__lte=today + datetime.timedelta(days=days))
        .annotate(bucket=Case(*whens, default=Value(str(days)), output_field=CharField()))
        .select_related("product", "facility", "sold_on")
        .order_by("expiration_date", "pk")
    )


def expiring_preview(scope: Scope, filters: ReportFilters, *, per_bucket: int,
                     days: int = 90) -> tuple[dict[str, list[Device]], dict[str, int]]:
    """The first ``per_bucket`` devices of each bucket of ``expiring_stock`` and each bucket's
    count: two queries, whatever the amount of expiring stock. The first ranks and counts the
    bare device rows per bucket in SQL (row_number(), count() over the bucket); the second reads
    the few devices shown, with their product, facility and stocking order."""
    qs = expiring_stock(scope, filters, days=days)
    ranked = (
        qs.select_related(None).annotate(
            rank=Window(RowNumber(), partition_by=F("bucket"),
                        order_by=[F("expiration_date").asc(), F("pk").asc()]),
            bucket_count=Window(Count("pk"), partition_by=F("bucket")),
        ).filter(rank__lte=per_bucket).values_list("pk", "bucket", "bucket_count")
    )
    ids, counts = [], {}
    for pk, bucket, count in ranked:
        ids.append(pk)
        counts[bucket] = count
    buckets = expiring_by_bucket(qs.filter(pk__in=ids)) if ids else expiring_by_bucket([])
    return buckets, counts


def expiring_by_bucket(devices) -> dict[str, list[Device]]:
    buckets: dict[str, list[Device]] = {key: [] for key, _ in EXPIRY_BUCKETS}
    for device in devices:
        buckets.setdefault(device.bucket, []).append(device)
    return buckets


# --- sales vs use ------------------------------------------------------------------------------


def sales_vs_use_by_month(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Per month: devices sold by stocking orders (units, revenue) and facility stock recorded as
    used in cases (units, value at the stocking-order price: the price of the sale each use
    consumes, ``sold_amount``; a returned device may have been sold again). A rep sees their own
    events. Read from the line summary."""
    sold = Q(kind=EventLine.Kind.SALE, event_type=EventType.STOCKING_ORDER)
    used = Q(kind=EventLine.Kind.USAGE)
    rows = (
        line_summary(scope, filters, own_numbers=True).filter(sold | used)
        .annotate(month=TruncMonth("date")).order_by().values("month")
        .annotate(
            sold_units=Coalesce(Sum("lines", filter=sold), 0),
            sold_value=Coalesce(Sum("amount", filter=sold), ZERO, output_field=MONEY),
            used_units=Coalesce(Sum("lines", filter=used), 0),
            used_value=Coalesce(Sum("sold_amount", filter=used), ZERO, output_field=MONEY),
        )
        .order_by("month")
    )
    return [{**r, "month": month(r["month"])} for r in rows]


# --- where used --------------------------------------------------------------------------------


def _uses(scope: Scope, filters: ReportFilters) -> QuerySet:
    return (committed_lines(scope, filters, own_numbers=False)
            .filter(kind=EventLine.Kind.USAGE).order_by("-event__date", "-pk"))


def where_used(scope: Scope, filters: ReportFilters) -> QuerySet:
    """Facility-stock devices recorded as used: case, date, surgeon, covering rep, stocking order.
    A rep sees the use of their facilities' stock."""
    return _uses(scope, filters).select_related(
        "event__facility", "event__representative", "device__product", "sold_by__representative")


def where_used_preview(scope: Scope, filters: ReportFilters, *, limit: int) -> list[EventLine]:
    """The first ``limit`` rows of ``where_used``: their ids first (lines and events only), then
    those lines with everything they show, so that the joins run for the rows shown only."""
    ids = list(_uses(scope, filters).values_list("pk", flat=True)[:limit])
    rows = {line.pk: line for line in where_used(scope, filters).filter(pk__in=ids)}
    return [rows[pk] for pk in ids]


# --- commissions from facility stock -----------------------------------------------------------


def _credits(scope: Scope, filters: ReportFilters) -> QuerySet:
    """The credits of the period as ``CommissionCreditSummary`` rows (per event, rep, kind and
    product; written with the credits), with the event's type and facility on each row."""
    start, end = day_range(filters.date_from, filters.date_to)
    qs = CommissionCreditSummary.objects.filter(
        organization_id=scope.organization_id, created_at__gte=start, created_at__lt=end
    )
    if scope.rep_id is not None:
        qs = qs.filter(rep_id=scope.rep_id)
    if scope.rep_ids is not None:  # a region: its reps' credits and those at its facilities
        qs = qs.filter(Q(rep_id__in=scope.rep_ids) | Q(facility_id__in=scope.facility_ids))
    return filters.narrow(qs, facility="facility_id", product_line="product__product_line_id")


def facility_stock_commissions(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Commission from facility stock per rep: credited at sale (stocking orders) and at use
    (covering rep). A rep sees their own. Read from the credit summary, grouped by rep id (hashed
    integers; each rep's names, the same on every row, taken with MIN), then the few rows sorted
    by name."""
    rows = list(
        _credits(scope, filters)
        .filter(Q(kind__in=(CommissionCredit.Kind.USAGE, CommissionCredit.Kind.CLAWBACK))
                | Q(event_type=EventType.STOCKING_ORDER))
        .order_by().values("rep_id")
        .annotate(
            first_name=Min("rep__first_name"), last_name=Min("rep__last_name"),
            username=Min("rep__username"),
            at_sale=Coalesce(Sum("amount", filter=Q(kind=CommissionCredit.Kind.SALE)), ZERO,
                             output_field=MONEY),
            at_use=Coalesce(Sum("amount", filter=Q(kind=CommissionCredit.Kind.USAGE)), ZERO,
                            output_field=MONEY),
            clawed_back=Coalesce(Sum("amount", filter=Q(kind=CommissionCredit.Kind.CLAWBACK)),
                                 ZERO, output_field=MONEY),
            total=Sum("amount"),
            n_credits=Sum("credits"),
        )
        .order_by("last_name", "first_name", "rep_id")
    )
    for row in rows:
        for name in ("first_name", "last_name", "username"):
            row[f"rep__{name}"] = row.pop(name)
        row["credits"] = row.pop("n_credits")
        row["rep"] = rep_name(row)
    return rows


def rep_name(row: dict, prefix: str = "rep__") -> str:
    full = f"{row[prefix + 'first_name']} {row[prefix + 'last_name']}".strip()
    return full or row[prefix + "username"]


# --- alerts ------------------------------------------------------------------------------------


def stock_alerts(*, organization_id: int, today: datetime.date, days: int = 90) -> dict:
    """Per facility of an organisation: the low-stock rows and the expiring facility stock.
    Returns {facility_id: {"low": [...], "expiring": [...]}} for facilities with something to say.
    """
    scope = Scope(organization_id=organization_id)
    filters = ReportFilters.default(today)
    alerts: dict[int, dict] = {}
    for row in low_stock(scope, filters):
        alerts.setdefault(row["facility_id"], {"low": [], "expiring": []})["low"].append(row)
    for device in expiring_stock(scope, filters, days=days):
        alerts.setdefault(device.facility_id, {"low": [], "expiring": []})["expiring"].append(
            device
        )
    return alerts
