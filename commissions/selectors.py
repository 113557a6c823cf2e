"""Commission reads: plans, a rep's statement for a period, unpaid clawbacks."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from commissions.models import CommissionCredit, CommissionPlan
from core.dates import day_range

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)


def commission_plans(user: User) -> QuerySet:
    return (
        CommissionPlan.objects.for_user(user)
        .select_related("rep", "product_line__manufacturer")
        .order_by("rep__last_name", "rep__first_name", "product_line__name", "pk")
    )


def latest_credited_rep_id(user: User) -> int | None:
    """The rep credited most recently in the organisation (the statement opens on them rather
    than on a rep with nothing to show): one backward step of an index."""
    return (CommissionCredit.objects.filter(organization_id=user.organization_id)
            .order_by("-created_at").values_list("rep_id", flat=True).first())


def statement_credits(user: User, *, rep_id: int, date_from: datetime.date,
                      date_to: datetime.date) -> QuerySet:
    """A rep's credits in a period (by the day they were credited). Reps: their own only."""
    start, end = day_range(date_from, date_to)
    qs = CommissionCredit.objects.for_user(user).filter(
        rep_id=rep_id, created_at__gte=start, created_at__lt=end
    )
    if user.role == User.Role.REP:
        qs = qs.filter(rep_id=user.pk)
    return qs.select_related("event", "device__product").order_by("created_at", "pk")


def statement_totals(credits: QuerySet) -> dict:
    return credits.aggregate(
        total=Coalesce(Sum("amount"), ZERO, output_field=MONEY),
        at_sale=Coalesce(Sum("amount", filter=Q(kind=CommissionCredit.Kind.SALE)), ZERO,
                         output_field=MONEY),
        at_use=Coalesce(Sum("amount", filter=Q(kind=CommissionCredit.Kind.USAGE)), ZERO,
                        output_field=MONEY),
        clawbacks=Coalesce(Sum("amount", filter=Q(kind=CommissionCredit.Kind.CLAWBACK)), ZERO,
                           output_field=MONEY),
        paid=Coalesce(Sum("amount", filter=Q(paid_at__isnull=False)), ZERO, output_field=MONEY),
        unpaid=Coalesce(Sum("amount", filter=Q(paid_at__isnull=True)), ZERO, output_field=MONEY),
        count=Count("pk"),
    )


def pending_clawbacks(user: User, *, rep_id: int) -> QuerySet:
    """A rep's unpaid clawbacks (returned sales), whatever their date: listed before payout."""
    qs = CommissionCredit.objects.for_user(user).filter(
        rep_id=rep_id, kind=CommissionCredit.Kind.CLAWBACK, paid_at__isnull=True
    )
    if user.role == User.Role.REP:
        qs = qs.filter(rep_id=user.pk)
    return qs.select_related("event__facility", "device__product").order_by("created_at", "pk")
