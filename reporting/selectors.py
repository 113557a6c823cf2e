"""Reports: read-only queries. Every figure is aggregated in the database (Count, Sum, TruncMonth,
Case/When); Python only merges a few already-aggregated rows.

Scope (who sees what):
- admins and managers: the whole organisation;
- a rep: the facility stock of *their facilities* — the facilities they cover (``Facility.reps``)
  or where they have events (a rep who runs cases at a hospital is responsible for its shelf even
  before an admin adds them as a covering rep) — and only *their own numbers*: sales and
  commissions of their own events and credits.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncMonth
from django.utils import timezone

from accounts.models import User
from accounts.selectors import reps_for  # noqa: F401  (the report filters use it)
from commissions.models import CommissionCredit, CommissionCreditSummary
from consignment.models import Facility, ParLevel
from core.dates import day_range
from events.models import Event, EventLine, EventLineSummary, EventType
from events.selectors import facilities_in_scope  # noqa: F401  (reports scope by it)
from inventory.models import Device, DeviceStatus, Product, ProductLine
from inventory.selectors import (
    product_lines_for,  # noqa: F401
    sellable_devices,
)

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)
EXPIRY_BUCKETS = (("expired", "Expired"), ("30", "Within 30 days"), ("60", "In 31–60 days"),
                  ("90", "In 61–90 days"))
USE_WINDOW_DAYS = 90


# --- scope and filters -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a reader may see: the organisation, optionally narrowed to facilities and to a rep's
    own numbers. ``facility_ids`` is a subquery (``values("pk")``) or None for every facility."""

    organization_id: int
    facility_ids: QuerySet | None = None
    rep_id: int | None = None


def scope_for(user: User) -> Scope:
    if getattr(user, "role", None) == User.Role.REP:
        return Scope(
            organization_id=user.organization_id,
            facility_ids=facilities_in_scope(user).values("pk"),
            rep_id=user.pk,
        )
    return Scope(organization_id=user.organization_id)


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last twelve months, from the first day of the month eleven months ago to today."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime.date(year, month, 1), today


@dataclass(frozen=True)
class ReportFilters:
    date_from: datetime.date
    date_to: datetime.date
    today: datetime.date
    facility_id: int | None = None
    product_line_id: int | None = None

    @classmethod
    def default(cls, today: datetime.date | None = None, **kwargs) -> ReportFilters:
        today = today or timezone.localdate()
        date_from, date_to = default_period(today)
        return cls(date_from=date_from, date_to=date_to, today=today, **kwargs)

    def narrow(self, qs: QuerySet, *, facility: str, product_line: str) -> QuerySet:
        """Apply the optional facility and product-line filters, given the lookup paths."""
        if self.facility_id:
            qs = qs.filter(**{facility: self.facility_id})
        if self.product_line_id:
            qs = qs.filter(**{product_line: self.product_line_id})
        return qs


def _facility_stock(scope: Scope, filters: ReportFilters) -> QuerySet:
    """Facility-stock devices in scope (any expiry)."""
    qs = Device.objects.filter(
        organization_id=scope.organization_id, status=DeviceStatus.FACILITY_STOCK
    )
    if scope.facility_ids is not None:
        qs = qs.filter(facility_id__in=scope.facility_ids)
    return filters.narrow(qs, facility="facility_id", product_line="product__product_line_id")


def _par_levels(scope: Scope, filters: ReportFilters) -> QuerySet:
    qs = ParLevel.objects.filter(organization_id=scope.organization_id)
    if scope.facility_ids is not None:
        qs = qs.filter(facility_id__in=scope.facility_ids)
    return filters.narrow(qs, facility="facility_id", product_line="product__product_line_id")


def _in_scope(qs: QuerySet, scope: Scope, filters: ReportFilters, *, own_numbers: bool,
              event: str, product: str) -> QuerySet:
    """``qs`` narrowed to the period, the user's scope and the filters; ``event`` is the path to
    the event's facts ("event__" on lines, "" on summaries, which copy them), ``product`` the
    path to the product."""
    qs = qs.filter(**{f"{event}date__gte": filters.date_from,
                      f"{event}date__lte": filters.date_to})
    if scope.rep_id is not None:
        if own_numbers:
            qs = qs.filter(**{f"{event}representative_id": scope.rep_id})
        else:
            qs = qs.filter(**{f"{event}facility_id__in": scope.facility_ids})
    return filters.narrow(qs, facility=f"{event}facility_id",
                          product_line=f"{product}__product_line_id")


def _lines(scope: Scope, filters: ReportFilters, *, own_numbers: bool) -> QuerySet:
    """Committed (submitted) event lines of the period. ``own_numbers``: a rep's own events only;
    otherwise a rep sees the lines at their facilities."""
    qs = EventLine.objects.filter(event__organization_id=scope.organization_id, committed=True)
    return _in_scope(qs, scope, filters, own_numbers=own_numbers, event="event__",
                     product="device__product")


def _summary(scope: Scope, filters: ReportFilters, *, own_numbers: bool) -> QuerySet:
    """The committed lines of the period as ``EventLineSummary`` rows (per event, product and
    line kind; written when the lines are committed): the rows of ``_lines``, counted and summed,
    without joining each line to its event and device. Same scope and filters as ``_lines``."""
    qs = EventLineSummary.objects.filter(organization_id=scope.organization_id)
    return _in_scope(qs, scope, filters, own_numbers=own_numbers, event="", product="product")


# --- 1. the Facility Stock Sales dashboard ---------------------------------------------------


PRODUCT_VALUES = ("facility_id", "facility__name", "product_id", "product__reference",
                  "product__description", "product__product_line__name")


def _row(values: dict, *, par, on_hand: int) -> dict:
    return {
        "facility_id": values["facility_id"],
        "facility": values["facility__name"],
        "product_id": values["product_id"],
        "reference": values["product__reference"],
        "description": values["product__description"],
        "product_line": values["product__product_line__name"],
        "par": par,
        "on_hand": on_hand,
        "shortfall": max(par - on_hand, 0) if par is not None else 0,
    }


def stock_against_par(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Unexpired facility stock on hand per facility and product, against its par level.

    Expired devices are not counted as on hand (they can't be used); the expiry lists show them.
    Two aggregate queries: par-level rows with their on-hand count, and on-hand stock of products
    without a par level.
    """
    usable = _facility_stock(scope, filters).filter(expiration_date__gte=filters.today)
    on_hand = (
        usable.filter(facility_id=OuterRef("facility_id"), product_id=OuterRef("product_id"))
        .order_by().values("facility_id").annotate(n=Count("pk")).values("n")
    )
    with_par = (
        _par_levels(scope, filters)
        .annotate(on_hand=Coalesce(Subquery(on_hand, output_field=IntegerField()), 0))
        .values(*PRODUCT_VALUES, "minimum", "on_hand")
    )
    rows = [_row(r, par=r["minimum"], on_hand=r["on_hand"]) for r in with_par]
    has_par = ParLevel.objects.filter(
        facility_id=OuterRef("facility_id"), product_id=OuterRef("product_id")
    )
    # Grouped by ids (index-only on device_org_facility_stock, hashed integers); each group's
    # names are the same on every row, taken with MIN rather than grouped by.
    without_par = (
        usable.filter(~Exists(has_par)).order_by().values("facility_id", "product_id")
        .annotate(on_hand=Count("*"), facility_name=Min("facility__name"),
                  reference=Min("product__reference"), description=Min("product__description"),
                  line=Min("product__product_line__name"))
    )
    rows += [_row({"facility_id": r["facility_id"], "facility__name": r["facility_name"],
                   "product_id": r["product_id"], "product__reference": r["reference"],
                   "product__description": r["description"],
                   "product__product_line__name": r["line"]}, par=None, on_hand=r["on_hand"])
             for r in without_par]
    rows.sort(key=_by_name)
    return rows


def _by_name(row: dict) -> tuple:
    """Facility name, then catalogue number (ids break ties): the order of the stock tables, the
    same as ``ORDER BY … COLLATE "C"`` in ``stock_overview`` (code-point order)."""
    return row["facility"], row["reference"], row["facility_id"], row["product_id"]


def low_stock(rows: list[dict]) -> list[dict]:
    """Rows below par, the biggest shortfall first."""
    low = [r for r in rows if r["par"] is not None and r["on_hand"] < r["par"]]
    return sorted(low, key=lambda r: (-r["shortfall"], *_by_name(r)))


def _stock_sql(scope: Scope, filters: ReportFilters) -> tuple[str, list]:
    """``stock_against_par``'s rows as SQL (PostgreSQL), without names: facility_id, product_id,
    par (NULL without a par level), on_hand. Par levels FULL JOIN the on-hand counts (grouped by
    ids, index-only on ``device_org_facility_stock``): the same filters apply to both sides."""
    on_hand = (_facility_stock(scope, filters).filter(expiration_date__gte=filters.today)
               .order_by().values("facility_id", "product_id").annotate(n=Count("*")))
    par = _par_levels(scope, filters).order_by().values("facility_id", "product_id", "minimum")
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


def _named(sql: str) -> str:
    """Rows of ``sql`` (with facility_id and product_id) with the facility's name and the
    product's reference, description and line."""
    quote = connection.ops.quote_name
    facility, product = quote(Facility._meta.db_table), quote(Product._meta.db_table)
    line = quote(ProductLine._meta.db_table)
    return (
        "SELECT fs_r.*, fs_f.name AS facility, fs_p.reference, fs_p.description, "
        f"fs_pl.name AS product_line FROM ({sql}) AS fs_r "
        f"JOIN {facility} AS fs_f ON fs_f.id = fs_r.facility_id "
        f"JOIN {product} AS fs_p ON fs_p.id = fs_r.product_id "
        f"JOIN {line} AS fs_pl ON fs_pl.id = fs_p.product_line_id"
    )


def _ranks_sql() -> str:
    """Two CTEs, fs_fr and fs_pr: each facility's and product's rank (id, r) by name and by
    reference in code-point order (``COLLATE "C"``, as Python compares strings), equal names
    equal ranks. A few thousand rows: ordering rows by these integers and then by ids is
    ordering them by the names, without joining the names to every row."""
    quote = connection.ops.quote_name
    facility, product = quote(Facility._meta.db_table), quote(Product._meta.db_table)
    return (
        'fs_fr AS (SELECT id, DENSE_RANK() OVER (ORDER BY name COLLATE "C") AS r '
        f"FROM {facility}), "
        'fs_pr AS (SELECT id, DENSE_RANK() OVER (ORDER BY reference COLLATE "C") AS r '
        f"FROM {product})"
    )


NAMED_FIELDS = ("facility_id", "product_id", "facility", "reference", "description",
                "product_line")


def stock_overview(scope: Scope, filters: ReportFilters, *, limit: int) -> dict:
    """What the dashboard shows of ``stock_against_par`` and ``low_stock``: the first ``limit``
    rows of each, how many rows each has and the units on hand.

    On PostgreSQL one query, so that the ~20k facility × product rows of a large organisation
    are never built in Python: the rows (by ids) are counted, and each table's first rows taken
    with a top-N sort on integers — the rank of the facility's name and of the product's
    reference among all names (``DENSE_RANK``, code-point order, equal names equal ranks), then
    the ids — so that the names are joined to the rows shown only. Elsewhere it is worked out
    from ``stock_against_par``."""
    if connection.vendor != "postgresql":
        rows = stock_against_par(scope, filters)
        low = low_stock(rows)
        return {"stock": rows[:limit], "stock_count": len(rows),
                "stock_on_hand": sum(r["on_hand"] for r in rows),
                "low": low[:limit], "low_count": len(low)}
    sql, params = _stock_sql(scope, filters)
    order = "f_rank, p_rank, facility_id, product_id"
    columns = "facility_id, product_id, par, on_hand, shortfall"
    with_ranks = (
        f"WITH fs_s AS ({sql}), "
        f"{_ranks_sql()}, "
        "fs_rows AS (SELECT fs_s.*, GREATEST(COALESCE(par - on_hand, 0), 0) AS shortfall, "
        "(par IS NOT NULL AND on_hand < par) AS low, fs_fr.r AS f_rank, fs_pr.r AS p_rank "
        "FROM fs_s JOIN fs_fr ON fs_fr.id = fs_s.facility_id "
        "JOIN fs_pr ON fs_pr.id = fs_s.product_id) "
    )
    shown = (
        f"SELECT 'stock' AS part, {columns} FROM (SELECT * FROM fs_rows ORDER BY {order} "
        "LIMIT %s) AS fs_stock "
        f"UNION ALL SELECT 'low', {columns} FROM (SELECT * FROM fs_rows WHERE low "
        f"ORDER BY shortfall DESC, {order} LIMIT %s) AS fs_low"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{with_ranks}SELECT fs_t.part, {', '.join(NAMED_FIELDS)}, par, on_hand, shortfall "
            f"FROM ({_named(f'SELECT * FROM ({shown}) AS fs_shown')}) AS fs_t "
            "UNION ALL SELECT 'totals', COUNT(*), SUM(on_hand), NULL, NULL, NULL, NULL, NULL, "
            "COUNT(*) FILTER (WHERE low), NULL FROM fs_rows",
            [*params, limit, limit],
        )
        names = [column.name for column in cursor.description]
        fetched = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    [totals] = [r for r in fetched if r["part"] == "totals"]
    keep = (*NAMED_FIELDS, "par", "on_hand", "shortfall")

    def table(part: str, key) -> list[dict]:
        return sorted(({k: r[k] for k in keep} for r in fetched if r["part"] == part), key=key)

    return {"stock": table("stock", _by_name), "stock_count": totals["facility_id"],
            "stock_on_hand": int(totals["product_id"] or 0),
            "low": table("low", lambda r: (-r["shortfall"], *_by_name(r))),
            "low_count": totals["on_hand"]}


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
        _facility_stock(scope, filters)
        .filter(expiration_date__lte=today + datetime.timedelta(days=days))
        .annotate(bucket=Case(*whens, default=Value(str(days)), output_field=CharField()))
        .select_related("product", "facility", "sold_on")
        .order_by("expiration_date", "pk")
    )


def expiring_preview(scope: Scope, filters: ReportFilters, *, per_bucket: int,
                     days: int = 90) -> tuple[dict[str, list[Device]], dict[str, int]]:
    """The first ``per_bucket`` devices of each expiry bucket and each bucket's count: two
    queries, whatever the amount of expiring stock. The first ranks and counts the bare device
    rows per bucket in SQL (row_number(), count() over the bucket); the second reads the few
    devices shown, with their product, facility and stocking order."""
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


def sales_vs_use_by_month(scope: Scope, filters: ReportFilters) -> list[dict]:
    """Per month: devices sold by stocking orders (units, revenue) and facility stock recorded as
    used in cases (units, value at the stocking-order price: the price of the sale each use
    consumes, ``sold_amount``; a returned device may have been sold again). A rep sees their own
    events. Read from the line summary."""
    sold = Q(kind=EventLine.Kind.SALE, event_type=EventType.STOCKING_ORDER)
    used = Q(kind=EventLine.Kind.USAGE)
    rows = (
        _summary(scope, filters, own_numbers=True).filter(sold | used)
        .annotate(month=TruncMonth("date")).order_by().values("month")
        .annotate(
            sold_units=Coalesce(Sum("lines", filter=sold), 0),
            sold_value=Coalesce(Sum("amount", filter=sold), ZERO, output_field=MONEY),
            used_units=Coalesce(Sum("lines", filter=used), 0),
            used_value=Coalesce(Sum("sold_amount", filter=used), ZERO, output_field=MONEY),
        )
        .order_by("month")
    )
    return [{**r, "month": _month(r["month"])} for r in rows]


def where_used(scope: Scope, filters: ReportFilters) -> QuerySet:
    """Facility-stock devices recorded as used: case, date, surgeon, covering rep, stocking order.
    A rep sees the use of their facilities' stock."""
    return (
        _lines(scope, filters, own_numbers=False)
        .filter(kind=EventLine.Kind.USAGE)
        .select_related("event__facility", "event__representative", "device__product",
                        "sold_by__representative")
        .order_by("-event__date", "-pk")
    )


def where_used_preview(scope: Scope, filters: ReportFilters, *, limit: int) -> list[EventLine]:
    """The first ``limit`` rows of ``where_used``: their ids first (lines and events only), then
    those lines with everything they show, so that the joins run for the rows shown only."""
    ids = list(
        _lines(scope, filters, own_numbers=False).filter(kind=EventLine.Kind.USAGE)
        .order_by("-event__date", "-pk").values_list("pk", flat=True)[:limit]
    )
    rows = {line.pk: line for line in where_used(scope, filters).filter(pk__in=ids)}
    return [rows[pk] for pk in ids]


def _credits(scope: Scope, filters: ReportFilters) -> QuerySet:
    """The credits of the period as ``CommissionCreditSummary`` rows (per event, rep, kind and
    product; written with the credits), with the event's type and facility on each row."""
    start, end = day_range(filters.date_from, filters.date_to)
    qs = CommissionCreditSummary.objects.filter(
        organization_id=scope.organization_id, created_at__gte=start, created_at__lt=end
    )
    if scope.rep_id is not None:
        qs = qs.filter(rep_id=scope.rep_id)
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
    return rows


def rep_name(row: dict, prefix: str = "rep__") -> str:
    full = f"{row[prefix + 'first_name']} {row[prefix + 'last_name']}".strip()
    return full or row[prefix + "username"]


# --- 2. sales report ---------------------------------------------------------------------------


SALES_DIMENSIONS = {  # lookups on EventLineSummary
    "rep": ("representative_id", "representative__first_name", "representative__last_name",
            "representative__username"),
    "facility": ("facility_id", "facility__name"),
    "product_line": ("product__product_line_id", "product__product_line__name"),
    "month": ("month",),
}


# Net sales: a Return's lines count against sales (where and when the return happened).
NET_SALE_KINDS = (EventLine.Kind.SALE, EventLine.Kind.RETURN)
IS_RETURN = Q(kind=EventLine.Kind.RETURN)
NET_AMOUNT = Case(When(IS_RETURN, then=-F("amount")), default=F("amount"), output_field=MONEY)


def _net_sales() -> dict:
    """Units sold less units returned, revenue less credits: aggregates of summary rows."""
    return {
        "units": Coalesce(Sum("lines", filter=~IS_RETURN), 0)
        - Coalesce(Sum("lines", filter=IS_RETURN), 0),
        "revenue": Coalesce(Sum(NET_AMOUNT), ZERO, output_field=MONEY),
    }


def sales_by(scope: Scope, filters: ReportFilters, dimension: str) -> list[dict]:
    """Net revenue from committed sale lines (stocking orders and cases with rep inventory) less
    returns, grouped by ``dimension``. Facility-stock use lines are never sales, so a device
    counts once. Read from the line summary."""
    qs = _summary(scope, filters, own_numbers=True).filter(kind__in=NET_SALE_KINDS)
    if dimension == "month":
        qs = qs.annotate(month=TruncMonth("date"))
    fields = SALES_DIMENSIONS[dimension]
    rows = list(
        qs.order_by().values(*fields).annotate(
            **_net_sales(),
            stocking=Coalesce(
                Sum("amount", filter=Q(event_type=EventType.STOCKING_ORDER)), ZERO,
                output_field=MONEY),
            cases=Coalesce(Sum("amount", filter=Q(event_type=EventType.CASE)), ZERO,
                           output_field=MONEY),
            returns=Coalesce(Sum("amount", filter=IS_RETURN), ZERO, output_field=MONEY),
        ).order_by(*(["month"] if dimension == "month" else ["-revenue"]))
    )
    for r in rows:
        if dimension == "rep":
            r["label"] = rep_name(r, "representative__")
        elif dimension == "month":
            month = r["month"]
            r["month"] = month.date() if isinstance(month, datetime.datetime) else month
            r["label"] = r["month"].strftime("%Y-%m")
        else:
            r["label"] = r[fields[1]]
    return rows


def sales_totals(scope: Scope, filters: ReportFilters) -> dict:
    qs = _summary(scope, filters, own_numbers=True).filter(kind__in=NET_SALE_KINDS)
    return qs.aggregate(
        **_net_sales(),
        returns=Coalesce(Sum("amount", filter=IS_RETURN), ZERO, output_field=MONEY),
    )


def _grouping_sets(queryset: QuerySet, columns: dict[str, str], sets: dict[str, tuple[str, ...]],
                   detail: dict[str, str], aggregates: dict[str, str],
                   labels: dict[str, tuple[type, dict[str, str]]] | None = None,
                   measures: tuple[str, ...] = ()) -> dict[str, list[dict]]:
    """Several GROUP BYs of one queryset in one pass (PostgreSQL GROUPING SETS).

    ``columns`` names the queryset's values (alias: lookup); ``sets`` maps a name to the aliases
    it groups by (``()``: one row for all). The rows are first summed once by every grouped alias
    and the other columns but ``measures`` (``detail``: alias → SQL over the rows, e.g.
    ``COUNT(*)``, ``SUM(price)`` with ``price`` a measure), then each
    set adds those partial sums up: ``aggregates`` maps an alias to SQL over the grouped and other
    columns and the ``detail`` aliases. ``labels`` maps a grouped id alias to (model, {alias:
    field}): names joined to the few result rows, so that the rows are grouped by integers
    (hashed), not sorted by text. Returns each set's rows as dicts of its grouped columns,
    labels and aggregates.
    """
    labels = labels or {}
    aliases = list(columns)
    # Annotated (in this order) then selected: the SELECT lists them in the order of ``columns``.
    sql, params = (
        queryset.order_by().annotate(**{f"fs_{alias}": F(lookup)
                                        for alias, lookup in columns.items()})
        .values(*(f"fs_{alias}" for alias in aliases)).query.sql_with_params()
    )
    firsts = [group[0] for group in sets.values() if group]  # one column tells each set apart
    grouped = [alias for alias in aliases if any(alias in group for group in sets.values())]
    inner = ", ".join([f"GROUPING({', '.join(firsts)}) AS fs_set", *grouped,
                       *(f"{expression} AS {alias}" for alias, expression in aggregates.items())])
    groups = ", ".join(f"({', '.join(group)})" for group in sets.values())
    keys = [alias for alias in aliases if alias not in measures]
    partial = ", ".join([*keys, *(f"{expression} AS {alias}"
                                  for alias, expression in detail.items())])
    sql = (f"SELECT {inner} FROM (SELECT {partial} FROM ({sql}) AS fs_lines "
           f"({', '.join(aliases)}) GROUP BY {', '.join(keys)}) AS fs_partial "
           f"GROUP BY GROUPING SETS ({groups})")
    outer, joins = ["fs_g.*"], []
    for n, (key, (model, fields)) in enumerate(labels.items()):
        table = connection.ops.quote_name(model._meta.db_table)
        joins.append(f"LEFT JOIN {table} AS fs_l{n} ON fs_l{n}.id = fs_g.{key}")
        outer += [f"fs_l{n}.{connection.ops.quote_name(model._meta.get_field(field).column)}"
                  for field in fields.values()]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(outer)} FROM ({sql}) AS fs_g {' '.join(joins)}",
                       params)
        fetched = cursor.fetchall()
    # GROUPING() sets the bit of each first column not grouped by the row's set, the first
    # column the most significant bit.
    width = len(firsts)
    by_mask = {}
    for name, group in sets.items():
        bits = (1 << width) - 1
        if group:
            bits &= ~(1 << (width - 1 - firsts.index(group[0])))
        by_mask[bits] = name
    names = [*grouped, *aggregates, *(alias for _, fields in labels.values() for alias in fields)]
    result: dict[str, list[dict]] = {name: [] for name in sets}
    for mask, *values in fetched:
        row = dict(zip(names, values, strict=True))
        name = by_mask[mask]
        keep = [*sets[name], *aggregates, *(alias for key, (_, fields) in labels.items()
                                            if key in sets[name] for alias in fields)]
        result[name].append({key: row[key] for key in keep})
    return result


def _month(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


# Over partial sums of the summary rows: n (how many lines) and amount (their prices) per kind and
# event type.
LINE_SUMS = {"n": "SUM(n_lines)", "amount": "SUM(price)"}
SALES_AGGREGATES = {
    "units": "(COALESCE(SUM(n) FILTER (WHERE kind <> 'return'), 0)"
             " - COALESCE(SUM(n) FILTER (WHERE kind = 'return'), 0))::integer",
    "revenue": "COALESCE(SUM(CASE WHEN kind = 'return' THEN -amount ELSE amount END), 0.00)",
    "stocking": "COALESCE(SUM(amount) FILTER (WHERE event_type = 'stocking_order'), 0.00)",
    "cases": "COALESCE(SUM(amount) FILTER (WHERE event_type = 'case'), 0.00)",
    "returns": "COALESCE(SUM(amount) FILTER (WHERE kind = 'return'), 0.00)",
}


def sales_report(scope: Scope, filters: ReportFilters) -> tuple[dict[str, list[dict]], dict]:
    """``sales_by`` for every dimension and ``sales_totals``, the same rows, in one pass over the
    period's line summary on PostgreSQL (GROUPING SETS); one query each elsewhere."""
    if connection.vendor != "postgresql":
        return ({dim: sales_by(scope, filters, dim) for dim in SALES_DIMENSIONS},
                sales_totals(scope, filters))
    qs = (_summary(scope, filters, own_numbers=True).filter(kind__in=NET_SALE_KINDS)
          .annotate(month=TruncMonth("date")))
    columns = {"rep_id": "representative_id", "facility_id": "facility_id",
               "line_id": "product__product_line_id", "month": "month", "kind": "kind",
               "event_type": "event_type", "n_lines": "lines", "price": "amount"}
    sets = {"rep": ("rep_id",), "facility": ("facility_id",), "product_line": ("line_id",),
            "month": ("month",), "total": ()}
    labels = {"rep_id": (User, {"rep_first": "first_name", "rep_last": "last_name",
                                "rep_username": "username"}),
              "facility_id": (Facility, {"facility": "name"}),
              "line_id": (ProductLine, {"line": "name"})}
    found = _grouping_sets(qs, columns, sets, LINE_SUMS, SALES_AGGREGATES, labels,
                           measures=("n_lines", "price"))
    aliases = {"rep": ("rep_id", "rep_first", "rep_last", "rep_username"),
               "facility": ("facility_id", "facility"), "product_line": ("line_id", "line"),
               "month": ("month",)}
    groups = {}
    for dim, fields in SALES_DIMENSIONS.items():
        rows = []
        for r in found[dim]:
            row = {field: r[alias] for field, alias in zip(fields, aliases[dim], strict=True)}
            row.update({key: r[key] for key in SALES_AGGREGATES})
            if dim == "rep":
                row["label"] = rep_name(row, "representative__")
            elif dim == "month":
                row["month"] = _month(row["month"])
                row["label"] = row["month"].strftime("%Y-%m")
            else:
                row["label"] = row[fields[1]]
            rows.append(row)
        if dim == "month":
            rows.sort(key=lambda r: r["month"])
        else:
            rows.sort(key=lambda r: (-r["revenue"], r["label"], r[fields[0]]))
        groups[dim] = rows
    [total] = found["total"]
    return groups, {key: total[key] for key in ("units", "revenue", "returns")}


# --- 3. usage report ---------------------------------------------------------------------------


USAGE_DIMENSIONS = {  # lookups on EventLineSummary
    "facility": ("facility_id", "facility__name"),
    "surgeon": ("surgeon",),
    "product": ("product_id", "product__reference", "product__description"),
    "month": ("month",),
}


def _case_lines(scope: Scope, filters: ReportFilters) -> QuerySet:
    """Devices used in submitted cases (rep inventory and facility stock), as summary rows."""
    return _summary(scope, filters, own_numbers=False).filter(event_type=EventType.CASE)


def usage_by(scope: Scope, filters: ReportFilters, dimension: str, limit: int | None = None):
    qs = _case_lines(scope, filters)
    if dimension == "month":
        qs = qs.annotate(month=TruncMonth("date"))
    fields = USAGE_DIMENSIONS[dimension]
    qs = qs.order_by().values(*fields).annotate(
        units=Sum("lines"),
        from_facility_stock=Coalesce(Sum("lines", filter=Q(kind=EventLine.Kind.USAGE)), 0),
    ).order_by(*(["month"] if dimension == "month" else ["-units", fields[-1]]))
    rows = list(qs[:limit] if limit else qs)
    for r in rows:
        if dimension == "month":
            month = r["month"]
            r["month"] = month.date() if isinstance(month, datetime.datetime) else month
            r["label"] = r["month"].strftime("%Y-%m")
        elif dimension == "surgeon":
            r["label"] = r["surgeon"] or "(not recorded)"
        elif dimension == "product":
            r["label"] = f"{r['product__reference']} – {r['product__description']}"
        else:
            r["label"] = r[fields[1]]
    return rows


def usage_report(scope: Scope, filters: ReportFilters, *, top_products: int
                 ) -> dict[str, list[dict]]:
    """``usage_by`` for every dimension (the product one limited to ``top_products``), the same
    rows, in one pass over the period's case-line summary on PostgreSQL (GROUPING SETS)."""
    if connection.vendor != "postgresql":
        return {dim: usage_by(scope, filters, dim,
                              limit=top_products if dim == "product" else None)
                for dim in USAGE_DIMENSIONS}
    qs = _case_lines(scope, filters).annotate(month=TruncMonth("date"))
    columns = {"facility_id": "facility_id", "surgeon": "surgeon", "product_id": "product_id",
               "month": "month", "kind": "kind", "n_lines": "lines"}
    sets = {"facility": ("facility_id",), "surgeon": ("surgeon",), "product": ("product_id",),
            "month": ("month",)}
    labels = {"facility_id": (Facility, {"facility": "name"}),
              "product_id": (Product, {"reference": "reference", "description": "description"})}
    aggregates = {"units": "SUM(n)::integer",
                  "from_facility_stock": "COALESCE(SUM(n) FILTER (WHERE kind = 'usage'), 0)"
                                         "::integer"}
    found = _grouping_sets(qs, columns, sets, {"n": "SUM(n_lines)"}, aggregates, labels,
                           measures=("n_lines",))
    aliases = {"facility": ("facility_id", "facility"), "surgeon": ("surgeon",),
               "product": ("product_id", "reference", "description"), "month": ("month",)}
    groups = {}
    for dim, fields in USAGE_DIMENSIONS.items():
        rows = []
        for r in found[dim]:
            row = {field: r[alias] for field, alias in zip(fields, aliases[dim], strict=True)}
            row.update(units=r["units"], from_facility_stock=r["from_facility_stock"])
            if dim == "month":
                row["month"] = _month(row["month"])
                row["label"] = row["month"].strftime("%Y-%m")
            elif dim == "surgeon":
                row["label"] = row["surgeon"] or "(not recorded)"
            elif dim == "product":
                row["label"] = f"{row['product__reference']} – {row['product__description']}"
            else:
                row["label"] = row[fields[1]]
            rows.append(row)
        if dim == "month":
            rows.sort(key=lambda r: r["month"])
        else:
            rows.sort(key=lambda r: (-r["units"], r[fields[-1]], r[fields[0]]))
        groups[dim] = rows[:top_products] if dim == "product" else rows
    return groups


def _window(filters: ReportFilters, window: int) -> ReportFilters:
    """The last ``window`` days, with the same facility and product-line filters."""
    today = filters.today
    return ReportFilters(
        date_from=today - datetime.timedelta(days=window - 1), date_to=today, today=today,
        facility_id=filters.facility_id, product_line_id=filters.product_line_id,
    )


def _cover(row: dict, window: int) -> dict:
    row["daily_use"] = Decimal(row["used"]) / window
    row["cover_days"] = int(row["on_hand"] * window / row["used"]) if row["used"] else None
    return row


def days_of_cover(scope: Scope, filters: ReportFilters, *, window: int = USE_WINDOW_DAYS):
    """Per facility and product: unexpired facility stock on hand ÷ average daily use over the
    last ``window`` days (uses in submitted cases at that facility, rep inventory included: it is
    the facility's demand). Cover is None when nothing was used (no end in sight)."""
    window_filters = _window(filters, window)
    rows = {(r["facility_id"], r["product_id"]): {**r, "used": 0}
            for r in stock_against_par(scope, filters)}
    # Grouped by ids (hashed integers); the names, the same on every row of a group, with MIN.
    uses = (
        _case_lines(scope, window_filters).order_by()
        .values("facility_id", "product_id")
        .annotate(used=Sum("lines"), facility__name=Min("facility__name"),
                  product__reference=Min("product__reference"),
                  product__description=Min("product__description"),
                  product__product_line__name=Min("product__product_line__name"))
    )
    for u in uses:
        key = (u["facility_id"], u["product_id"])
        row = rows.get(key)
        if row is None:
            row = rows[key] = _row(u, par=None, on_hand=0)
        row["used"] = u["used"]
    result = [_cover(row, window) for row in rows.values()]
    result.sort(key=_by_name)
    return result


def days_of_cover_overview(scope: Scope, filters: ReportFilters, *, limit: int,
                           window: int = USE_WINDOW_DAYS) -> tuple[list[dict], int]:
    """The first ``limit`` rows of ``days_of_cover`` and how many there are: on PostgreSQL the
    stock rows FULL JOIN the window's uses per facility and product (from the line summary),
    counted and ordered in SQL; elsewhere from ``days_of_cover``."""
    if connection.vendor != "postgresql":
        rows = days_of_cover(scope, filters, window=window)
        return rows[:limit], len(rows)
    stock_sql, stock_params = _stock_sql(scope, filters)
    uses = (_case_lines(scope, _window(filters, window)).order_by()
            .values("facility_id", "product_id").annotate(used=Sum("lines")))
    uses_sql, uses_params = uses.query.sql_with_params()
    # As in stock_overview: counted by ids, the first rows by the names' ranks, names joined to
    # the rows shown only.
    rows = (
        f"WITH {_ranks_sql()}, fs_cover AS ("
        "SELECT COALESCE(s.facility_id, u.facility_id) AS facility_id, "
        "COALESCE(s.product_id, u.product_id) AS product_id, s.par, "
        "COALESCE(s.on_hand, 0) AS on_hand, COALESCE(u.used, 0) AS used "
        f"FROM ({stock_sql}) AS s "
        f"FULL JOIN ({uses_sql}) AS u (facility_id, product_id, used) "
        "ON u.facility_id = s.facility_id AND u.product_id = s.product_id) "
    )
    first = (
        "SELECT fs_cover.*, (SELECT COUNT(*) FROM fs_cover) AS n FROM fs_cover "
        "JOIN fs_fr ON fs_fr.id = fs_cover.facility_id "
        "JOIN fs_pr ON fs_pr.id = fs_cover.product_id "
        "ORDER BY fs_fr.r, fs_pr.r, fs_cover.facility_id, fs_cover.product_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{rows}SELECT {', '.join(NAMED_FIELDS)}, par, on_hand, used, n "
            f"FROM ({_named(first)}) AS fs_first",
            [*stock_params, *uses_params, limit],
        )
        names = [column.name for column in cursor.description]
        fetched = sorted((dict(zip(names, row, strict=True)) for row in cursor.fetchall()),
                         key=_by_name)
    count = fetched[0]["n"] if fetched else 0
    rows = []
    for r in fetched:
        del r["n"]
        r["shortfall"] = max(r["par"] - r["on_hand"], 0) if r["par"] is not None else 0
        rows.append(_cover(r, window))
    return rows, count


# --- 4. replenishment --------------------------------------------------------------------------


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


# --- 6. alerts ---------------------------------------------------------------------------------


def stock_alerts(*, organization_id: int, today: datetime.date, days: int = 90) -> dict:
    """Per facility of an organisation: the low-stock rows and the expiring facility stock.
    Returns {facility_id: {"low": [...], "expiring": [...]}} for facilities with something to say.
    """
    scope = Scope(organization_id=organization_id)
    filters = ReportFilters.default(today)
    alerts: dict[int, dict] = {}
    for row in low_stock(stock_against_par(scope, filters)):
        alerts.setdefault(row["facility_id"], {"low": [], "expiring": []})["low"].append(row)
    for device in expiring_stock(scope, filters, days=days):
        alerts.setdefault(device.facility_id, {"low": [], "expiring": []})["expiring"].append(
            device
        )
    return alerts
