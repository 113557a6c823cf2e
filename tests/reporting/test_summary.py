"""The summaries the reports read (``EventLineSummary``, ``CommissionCreditSummary``) equal a
recount of the committed lines and of the credits after submits, returns and credit memos; the
reports built on them, and the stock and cover tables ranked in SQL, show the same numbers as a
direct count of the lines and credits on the demo data."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.urls import reverse

from accounts.models import User
from commissions.models import CommissionCredit, CommissionCreditSummary
from commissions.services import commission_summary_rebuild
from core.dates import day_range
from demo.seed import seed
from events.models import EventLine, EventLineSummary, EventType
from events.services import event_line_summary_rebuild
from reporting import selectors
from reporting.selectors import ReportFilters, Scope
from tests.reporting import reference as orm
from tests.reporting.conftest import credit_recount, credit_summary, days, recount, summary

pytestmark = pytest.mark.django_db

@pytest.fixture
def demo(settings):
    """seed_demo's data: stocking orders, cases of both kinds, returns with credit memos, all
    submitted through Submit For Billing."""
    settings.DEBUG = True
    seed(devices=400, progress=False)
    return User.objects.get(username="admin").organization


def test_summary_equals_a_recount_after_submits_returns_and_credit_memos(demo):
    kinds = set(EventLineSummary.objects.values_list("event_type", "kind"))
    assert {(EventType.STOCKING_ORDER, "sale"), (EventType.CASE, "sale"),
            (EventType.CASE, "usage"), (EventType.RETURN, "return")} <= kinds
    assert EventLineSummary.objects.filter(kind="usage", sold_amount__gt=0).exists()
    expected = recount()
    assert summary() == expected
    assert sum(r[-3] for r in expected) == EventLine.objects.filter(committed=True).count()
    # Drafts are not summarised: only what Submit For Billing committed.
    assert not EventLineSummary.objects.filter(event__status__in=("draft", "cancelled")).exists()
    # The rebuild (after COPY) gives the same rows.
    assert event_line_summary_rebuild() == len(expected)
    assert summary() == expected


def test_credit_summary_equals_a_recount_after_submits_and_clawbacks(demo):
    kinds = set(CommissionCreditSummary.objects.values_list("kind", flat=True))
    assert kinds == {"sale", "usage", "clawback"}
    expected = credit_recount()
    assert credit_summary() == expected
    assert sum(r[-2] for r in expected) == CommissionCredit.objects.count()
    assert commission_summary_rebuild() == len(expected)
    assert credit_summary() == expected


def test_dashboard_commissions_equal_a_direct_count_of_the_credits(demo):
    checked = 0
    for scope in _scopes(demo):
        for filters in _filters(demo):
            start, end = day_range(filters.date_from, filters.date_to)
            credits = CommissionCredit.objects.filter(
                organization_id=scope.organization_id, created_at__gte=start,
                created_at__lt=end).filter(
                Q(kind__in=("usage", "clawback")) | Q(event__event_type="stocking_order"))
            if scope.rep_id is not None:
                credits = credits.filter(rep_id=scope.rep_id)
            if filters.facility_id:
                credits = credits.filter(event__facility_id=filters.facility_id)
            if filters.product_line_id:
                credits = credits.filter(device__product__product_line_id=filters.product_line_id)
            expected = {r["rep_id"]: (r["n"], r["total"], r["sale"], r["use"], r["back"])
                        for r in credits.order_by().values("rep_id").annotate(
                            n=Count("pk"), total=Sum("amount"),
                            sale=Coalesce(Sum("amount", filter=Q(kind="sale")), Decimal("0")),
                            use=Coalesce(Sum("amount", filter=Q(kind="usage")), Decimal("0")),
                            back=Coalesce(Sum("amount", filter=Q(kind="clawback")),
                                          Decimal("0")))}
            rows = selectors.facility_stock_commissions(scope, filters)
            assert {r["rep_id"]: (r["credits"], r["total"], r["at_sale"], r["at_use"],
                                  r["clawed_back"]) for r in rows} == expected
            checked += len(expected)
    assert checked > 0


def test_summary_follows_each_submission(shop):
    sold = shop.receive(4)
    shop.stock(sold[:3], today=days(-10))
    assert summary() == recount()
    shop.use(sold[:2], today=days(-5))
    shop.case(shop.receive(2, product=shop.new_product(unit_price=Decimal("80.00"))))
    assert summary() == recount()
    assert credit_summary() == credit_recount()
    used = EventLineSummary.objects.get(kind="usage")
    assert (used.lines, used.amount, used.sold_amount) == (2, Decimal("0.00"),
                                                           Decimal("2000.00"))


# --- the reports against a direct count of the lines (the queries the reports ran before) ------


def _lines(scope: Scope, filters: ReportFilters, *, own_numbers: bool):
    qs = EventLine.objects.filter(event__organization_id=scope.organization_id, committed=True,
                                  event__date__gte=filters.date_from,
                                  event__date__lte=filters.date_to)
    if scope.rep_id is not None:
        qs = (qs.filter(event__representative_id=scope.rep_id) if own_numbers
              else qs.filter(event__facility_id__in=scope.facility_ids))
    if filters.facility_id:
        qs = qs.filter(event__facility_id=filters.facility_id)
    if filters.product_line_id:
        qs = qs.filter(device__product__product_line_id=filters.product_line_id)
    return qs


SALES_BY = {"rep": "event__representative_id", "facility": "event__facility_id",
            "product_line": "device__product__product_line_id", "month": "month"}
SALES_KEY = {"rep": "representative_id", "facility": "facility_id",
             "product_line": "product__product_line_id", "month": "month"}
USAGE_BY = {"facility": "event__facility_id", "surgeon": "event__surgeon",
            "product": "device__product_id", "month": "month"}
USAGE_KEY = {"facility": "facility_id", "surgeon": "surgeon", "product": "product_id",
             "month": "month"}


def _month(value):
    return value.date() if isinstance(value, datetime.datetime) else value


def direct_sales(scope, filters, dim) -> dict:
    is_return = Q(kind="return")
    qs = (_lines(scope, filters, own_numbers=True).filter(kind__in=("sale", "return"))
          .annotate(month=TruncMonth("event__date")).order_by().values(SALES_BY[dim])
          .annotate(units=Count("pk", filter=~is_return) - Count("pk", filter=is_return),
                    returns=Coalesce(Sum("price", filter=is_return), Decimal("0.00")),
                    gross=Coalesce(Sum("price", filter=~is_return), Decimal("0.00")),
                    stocking=Coalesce(Sum("price", filter=Q(
                        event__event_type="stocking_order")), Decimal("0.00")),
                    cases=Coalesce(Sum("price", filter=Q(event__event_type="case")),
                                   Decimal("0.00"))))
    return {_month(r[SALES_BY[dim]]): (r["units"], r["gross"] - r["returns"], r["stocking"],
                                       r["cases"], -r["returns"]) for r in qs}


def direct_usage(scope, filters, dim) -> dict:
    qs = (_lines(scope, filters, own_numbers=False).filter(event__event_type="case")
          .annotate(month=TruncMonth("event__date")).order_by().values(USAGE_BY[dim])
          .annotate(units=Count("pk"), fs=Count("pk", filter=Q(kind="usage"))))
    return {_month(r[USAGE_BY[dim]]): (r["units"], r["fs"]) for r in qs}


def direct_monthly(scope, filters) -> dict:
    lines = _lines(scope, filters, own_numbers=True).annotate(month=TruncMonth("event__date"))
    result: dict = {}
    for r in (lines.filter(kind="sale", event__event_type="stocking_order").order_by()
              .values("month").annotate(n=Count("pk"), value=Sum("price"))):
        result.setdefault(_month(r["month"]), {})["sold"] = (r["n"], r["value"])
    sale = EventLine.objects.filter(event_id=OuterRef("sold_by_id"),
                                    device_id=OuterRef("device_id"), kind="sale",
                                    committed=True).values("price")
    for r in (lines.filter(kind="usage").annotate(sale=Subquery(sale)).order_by()
              .values("month").annotate(n=Count("pk"), value=Sum("sale"))):
        result.setdefault(_month(r["month"]), {})["used"] = (r["n"], r["value"])
    return result


def _scopes(org):
    admin = User.objects.get(username="admin")
    reps = User.objects.filter(organization=org, role=User.Role.REP).order_by("pk")
    return [selectors.scope_for(admin), *(selectors.scope_for(rep) for rep in reps[:2])]


def _filters(org):
    today = datetime.date.today()
    base = ReportFilters.default(today)
    event = EventLine.objects.filter(committed=True, event__organization=org).select_related(
        "event", "device__product").first()
    return [base, ReportFilters(date_from=today - datetime.timedelta(days=40), date_to=today,
                                today=today),
            ReportFilters.default(today, facility_id=event.event.facility_id),
            ReportFilters.default(today, product_line_id=event.device.product.product_line_id)]


def test_reports_equal_a_direct_count_of_the_lines(demo):
    checked = 0
    for scope in _scopes(demo):
        for filters in _filters(demo):
            groups, totals = selectors.sales_report(scope, filters)
            for dim in selectors.SALES_DIMENSIONS:
                expected = direct_sales(scope, filters, dim)
                for rows in (groups[dim], selectors.sales_by(scope, filters, dim)):
                    got = {r[SALES_KEY[dim]]: (r["units"], r["revenue"], r["stocking"],
                                               r["cases"], r["returns"]) for r in rows}
                    assert got == expected, (dim, scope, filters)
                checked += len(expected)
            everything = direct_sales(scope, filters, "month").values()
            assert totals["units"] == sum(v[0] for v in everything)
            assert totals["revenue"] == sum((v[1] for v in everything), Decimal("0.00"))
            usage = selectors.usage_report(scope, filters, top_products=10_000)
            for dim in selectors.USAGE_DIMENSIONS:
                expected = direct_usage(scope, filters, dim)
                for rows in (usage[dim], selectors.usage_by(scope, filters, dim)):
                    got = {r[USAGE_KEY[dim]]: (r["units"], r["from_facility_stock"])
                           for r in rows}
                    assert got == expected, (dim, scope, filters)
            monthly = {m["month"]: m for m in selectors.sales_vs_use_by_month(scope, filters)}
            for month, parts in direct_monthly(scope, filters).items():
                if "sold" in parts:
                    assert (monthly[month]["sold_units"], monthly[month]["sold_value"]) == \
                        parts["sold"]
                if "used" in parts:
                    assert (monthly[month]["used_units"], monthly[month]["used_value"]) == \
                        parts["used"]
    assert checked > 20  # the demo data has sales in several groups


def test_days_of_cover_equals_a_direct_count_of_the_lines(demo):
    today = datetime.date.today()
    for scope in _scopes(demo):
        filters = ReportFilters.default(today)
        window = ReportFilters(date_from=today - datetime.timedelta(days=89), date_to=today,
                               today=today)
        uses = {(r["event__facility_id"], r["device__product_id"]): r["n"] for r in (
            _lines(scope, window, own_numbers=False).filter(event__event_type="case")
            .order_by().values("event__facility_id", "device__product_id")
            .annotate(n=Count("pk")))}
        rows = selectors.days_of_cover(scope, filters)
        assert {(r["facility_id"], r["product_id"]): r["used"] for r in rows if r["used"]} == uses


# --- the stock and cover tables ranked and counted in SQL -----------------------------------


def test_stock_and_cover_overviews_equal_the_full_tables(demo):
    shown = 0
    for scope in _scopes(demo):
        for filters in _filters(demo):
            for limit in (1, 5, 50):
                rows = orm.stock_against_par(scope, filters)
                low = orm.low_stock(rows)
                overview = selectors.stock_overview(scope, filters, limit=limit)
                assert overview == {"stock": rows[:limit], "stock_count": len(rows),
                                    "stock_on_hand": sum(r["on_hand"] for r in rows),
                                    "low": low[:limit], "low_count": len(low)}
                cover = orm.days_of_cover(scope, filters)
                assert selectors.days_of_cover_overview(scope, filters, limit=limit) == (
                    cover[:limit], len(cover))
                shown += len(overview["stock"])
            # Every row (limit None: the CSV exports, the alerts, replenishment).
            assert selectors.stock_against_par(scope, filters) == rows
            assert selectors.low_stock(scope, filters) == low
            assert selectors.days_of_cover(scope, filters) == cover
    assert shown > 0


def test_the_home_pages_low_stock_count_is_the_dashboards(demo):
    """Home counts the rows below par per par level (one index probe each), not through the
    dashboard's FULL JOIN: the same number for every role, the reference's too."""
    from reporting.selectors.attention import low_stock_count

    today = datetime.date.today()
    reps = User.objects.filter(organization=demo, role=User.Role.REP).order_by("pk")
    users = [User.objects.get(username="admin"), User.objects.get(username="manager"),
             *reps[:3]]
    counts = []
    for user in users:
        scope, filters = selectors.scope_for(user), ReportFilters.default(today)
        low = orm.low_stock(orm.stock_against_par(scope, filters))
        assert low_stock_count(user=user, today=today) == len(low), user
        assert selectors.stock_overview(scope, filters, limit=1)["low_count"] == len(low)
        counts.append(len(low))
    assert counts[0] > 0 and counts[0] > min(counts[2:]), counts  # the scopes differ


def test_dashboard_and_usage_pages_show_the_overviews(client, demo):
    client.force_login(User.objects.get(username="admin"))
    filters = ReportFilters.default()
    scope = selectors.scope_for(User.objects.get(username="admin"))
    rows = orm.stock_against_par(scope, filters)
    page = client.get(reverse("reporting:index"))
    assert page.context["stock_count"] == len(rows)
    assert page.context["stock"] == rows[:50]
    assert page.context["low_count"] == len(orm.low_stock(rows))
    cover = orm.days_of_cover(scope, filters)
    usage = client.get(reverse("reporting:usage"))
    assert (usage.context["cover"], usage.context["cover_count"]) == (cover[:50], len(cover))


def test_overviews_order_names_as_python_does(shop):
    """Case, accents and punctuation: the SQL ranks (code-point order) agree with Python's sort."""
    names = ["mercy west", "Mercy West", "Émile Roux", "Zed Clinic", "St Mary", "St.Mary",
             "emile roux"]
    references = ["ab-1", "AB-1", "Ab-2", "ab_1", "ab-10", "Ab-1", "áb-1"]
    for n, (name, reference) in enumerate(zip(names, references, strict=True)):
        facility = shop.new_facility(shop.coverer, name=name)
        product = shop.new_product(reference=reference)
        shop.stock(shop.receive(n % 3 + 1, product=product), facility=facility)
        shop.par(product, 3, facility=facility)
    filters = ReportFilters.default()
    for scope in (Scope(shop.org.pk), selectors.scope_for(shop.coverer)):
        rows = orm.stock_against_par(scope, filters)
        assert len(rows) == len(names)
        assert [r["facility"] for r in rows] == sorted(names)
        low = orm.low_stock(rows)
        for limit in (2, 4, 50):
            assert selectors.stock_overview(scope, filters, limit=limit) == {
                "stock": rows[:limit], "stock_count": len(rows),
                "stock_on_hand": sum(r["on_hand"] for r in rows), "low": low[:limit],
                "low_count": len(low)}
            cover = orm.days_of_cover(scope, filters)
            assert selectors.days_of_cover_overview(scope, filters, limit=limit) == (
                cover[:limit], len(cover))
