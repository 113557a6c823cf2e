"""Commissions: plans, the credits a submission earns (or a return claws back), payouts.

Plans hold fractions (0.1000 is 10 %); the forms convert from percentages. Billing's Submit For
Billing asks ``commission_credits_for_sale`` / ``commission_credits_for_usage`` /
``commission_clawbacks`` (the commission effect of the event's policy) for the credits of the
lines it commits, in its own transaction; credits are then only marked paid.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from commissions.models import CommissionCredit, CommissionCreditSummary, CommissionPlan
from core.db import service_transaction
from core.permissions import ensure_same_organization
from events.models import Event, EventLine, EventType
from inventory.models import Device, ProductLine

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """An amount rounded to the cent, half up (commission amounts)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _check_plan(actor: User, rep: User | None, product_line: ProductLine | None,
                rate: Decimal, stocking_share: Decimal) -> None:
    ensure_permission(actor, "edit_commission_plans")
    ensure_same_organization(actor, rep, product_line)
    errors = {}
    if rep is not None and rep.role != User.Role.REP:
        errors["rep"] = f"{rep} is not a rep."
    if not Decimal(0) <= rate <= Decimal(1):
        errors["rate"] = "A rate is between 0 % and 100 %."
    if not Decimal(0) <= stocking_share <= Decimal(1):
        errors["stocking_share"] = "A stocking share is between 0 % and 100 %."
    if errors:
        raise ValidationError(errors)


def _duplicate_error(rep, product_line) -> ValidationError:
    who = str(rep) if rep else "every rep"
    line = str(product_line) if product_line else "every product line"
    return ValidationError(f"There is already a commission plan for {who} and {line}: edit it.")


def _save(plan: CommissionPlan) -> CommissionPlan:
    clash = CommissionPlan.objects.filter(
        organization_id=plan.organization_id, rep=plan.rep, product_line=plan.product_line
    ).exclude(pk=plan.pk)
    if clash.exists():
        raise _duplicate_error(plan.rep, plan.product_line)
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as exc:  # a concurrent insert of the same plan
        raise _duplicate_error(plan.rep, plan.product_line) from exc
    return plan


@service_transaction
def commission_plan_create(
    *, actor: User, rep: User | None, product_line: ProductLine | None, rate: Decimal,
    stocking_share: Decimal = Decimal(1),
) -> CommissionPlan:
    """A plan for a rep and/or product line (both empty: the organisation default)."""
    _check_plan(actor, rep, product_line, rate, stocking_share)
    return _save(CommissionPlan(
        organization_id=actor.organization_id, rep=rep, product_line=product_line,
        rate=rate, stocking_share=stocking_share,
    ))


@service_transaction
def commission_plan_update(
    *, actor: User, plan: CommissionPlan, rep: User | None, product_line: ProductLine | None,
    rate: Decimal, stocking_share: Decimal,
) -> CommissionPlan:
    """Change a plan. Credits already written keep the rate they were made with."""
    ensure_same_organization(actor, plan)
    _check_plan(actor, rep, product_line, rate, stocking_share)
    plan = CommissionPlan.objects.select_for_update(no_key=True).get(pk=plan.pk)
    plan.rep, plan.product_line = rep, product_line
    plan.rate, plan.stocking_share = rate, stocking_share
    return _save(plan)


@service_transaction
def commission_plan_delete(*, actor: User, plan: CommissionPlan) -> None:
    ensure_permission(actor, "edit_commission_plans")
    ensure_same_organization(actor, plan)
    CommissionPlan.objects.filter(pk=plan.pk).delete()


@service_transaction
def commission_credits_mark_paid(
    *, actor: User, rep: User, date_from: datetime.date, date_to: datetime.date,
    paid_at: datetime.datetime | None = None,
) -> int:
    """Mark a rep's unpaid credits of a period (by the day they were credited) as paid.

    Returns how many credits were marked; credits already paid keep their date.
    """
    ensure_permission(actor, "pay_commissions")
    ensure_same_organization(actor, rep)
    if date_from > date_to:
        raise ValidationError("The period starts after it ends.")
    credits = CommissionCredit.objects.filter(
        organization_id=actor.organization_id, rep=rep, paid_at__isnull=True,
        created_at__date__gte=date_from, created_at__date__lte=date_to,
    )
    ids = list(credits.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))
    if not ids:
        raise ValidationError(f"{rep} has no unpaid commission in this period.")
    return CommissionCredit.objects.filter(pk__in=ids).update(paid_at=paid_at or timezone.now())


# --- the credits of a submission ---------------------------------------------------------------


def commission_plan_for(plans: Sequence[CommissionPlan], rep_id: int, product_line_id: int):
    """The most specific plan: rep + line, then rep, then line, then the organisation default."""
    best, best_rank = None, -1
    for plan in plans:
        if plan.rep_id not in (None, rep_id) or plan.product_line_id not in (None, product_line_id):
            continue
        rank = (2 if plan.rep_id else 0) + (1 if plan.product_line_id else 0)
        if rank > best_rank:
            best, best_rank = plan, rank
    return best


def commission_sale_amount(plan: CommissionPlan | None, price: Decimal, *, stocking_order: bool
                           ) -> tuple[Decimal, Decimal] | None:
    """The share and the amount a sale at ``price`` earns its seller under ``plan`` (None: no
    plan, or a 0 % rate — no credit). A stocking order earns the plan's stocking share of the
    commission, a case with rep inventory all of it. Pure arithmetic: Submit For Billing and the
    scale data set (``devtools.scale``) both use it."""
    if plan is None or plan.rate == 0:
        return None
    share = plan.stocking_share if stocking_order else Decimal(1)
    return share, money(share * plan.rate * price)


def commission_usage_amount(*, rate: Decimal, base_price: Decimal, sale_amount: Decimal
                            ) -> Decimal:
    """The covering rep's credit when facility stock is used: the rest of the stocking order's
    commission, round(rate × price) − what the sale earned (nothing when that is not positive)."""
    return money(rate * base_price) - sale_amount


def commission_credits_for_sale(
    event: Event, lines: list[EventLine], now
) -> list[CommissionCredit]:
    """The credits a submitted sale earns (DESIGN.md, Commissions): the rep's plan rate of each
    line's price, a stocking order's at the plan's stocking share."""
    plans = list(CommissionPlan.objects.filter(organization_id=event.organization_id))
    credits = []
    plan_of_line: dict[int, CommissionPlan | None] = {}  # product line id → its plan
    for line in lines:
        product_line_id = line.device.product.product_line_id
        if product_line_id not in plan_of_line:
            plan_of_line[product_line_id] = commission_plan_for(
                plans, event.representative_id, product_line_id
            )
        plan = plan_of_line[product_line_id]
        earned = commission_sale_amount(plan, line.price, stocking_order=event.is_stocking_order)
        if earned is None:
            continue
        share, amount = earned
        credits.append(CommissionCredit(
            organization_id=event.organization_id, rep_id=event.representative_id,
            event_id=event.pk, device_id=line.device_id, kind=CommissionCredit.Kind.SALE,
            amount=amount, base_price=line.price,
            rate=plan.rate, stocking_share=share, created_at=now,
        ))
    return credits


def commission_credits_for_usage(
    event: Event, lines: list[EventLine], now
) -> list[CommissionCredit]:
    """The credits a case using facility stock earns: the covering rep gets the rest of the
    stocking order's commission, round(r·p) − sale (DESIGN.md, Commissions)."""
    credits = []
    # Keyed by the stocking order too: a returned device may have been sold again since.
    sales = {
        (c.event_id, c.device_id): c
        for c in CommissionCredit.objects.filter(
            device_id__in=[line.device_id for line in lines],
            kind=CommissionCredit.Kind.SALE,
            event__event_type=EventType.STOCKING_ORDER,
        )
    }
    for line in lines:
        sale = sales.get((line.sold_by_id, line.device_id))
        if sale is None:
            continue
        amount = commission_usage_amount(rate=sale.rate, base_price=sale.base_price,
                                         sale_amount=sale.amount)
        if amount > 0:
            credits.append(CommissionCredit(
                organization_id=event.organization_id, rep_id=event.representative_id,
                event_id=event.pk, device_id=line.device_id, kind=CommissionCredit.Kind.USAGE,
                amount=amount, base_price=sale.base_price, rate=sale.rate,
                stocking_share=sale.stocking_share, created_at=now,
            ))
    return credits


def commission_clawbacks(event: Event, lines: list[EventLine], now) -> list[CommissionCredit]:
    """The seller's sale credit of each returned device, back as a negative credit.

    The covering rep's usage credit is untouched: a returned device was never used.
    """
    sales = {
        (c.event_id, c.device_id): c
        for c in CommissionCredit.objects.filter(
            device_id__in=[line.device_id for line in lines], kind=CommissionCredit.Kind.SALE,
            event_id__in={line.sold_by_id for line in lines},
        )
    }
    credits = []
    for line in lines:
        sale = sales.get((line.sold_by_id, line.device_id))
        if sale is None or sale.amount == 0:
            continue
        credits.append(CommissionCredit(
            organization_id=event.organization_id, rep_id=sale.rep_id, event_id=event.pk,
            device_id=line.device_id, kind=CommissionCredit.Kind.CLAWBACK, amount=-sale.amount,
            base_price=sale.base_price, rate=sale.rate, stocking_share=sale.stocking_share,
            created_at=now,
        ))
    return credits


# --- the credit summary the dashboard reads ----------------------------------------------------


def _summary_insert_sql(where: str) -> str:
    """INSERT … SELECT of the summary rows of the credits matching ``where`` (SQL over the
    credit ``c``): one row per event, rep, kind, product and time credited, with the event's type
    and facility copied."""
    quote = connection.ops.quote_name
    summary, credit = CommissionCreditSummary._meta.db_table, CommissionCredit._meta.db_table
    event, device = Event._meta.db_table, Device._meta.db_table
    return (
        f"INSERT INTO {quote(summary)} (organization_id, event_id, event_type, facility_id, "
        "rep_id, kind, product_id, created_at, credits, amount) "
        "SELECT c.organization_id, c.event_id, e.event_type, e.facility_id, c.rep_id, c.kind, "
        "d.product_id, c.created_at, COUNT(*), SUM(c.amount) "
        f"FROM {quote(credit)} c JOIN {quote(event)} e ON e.id = c.event_id "
        f"JOIN {quote(device)} d ON d.id = c.device_id WHERE {where} "
        "GROUP BY c.organization_id, c.event_id, e.event_type, e.facility_id, c.rep_id, c.kind, "
        "d.product_id, c.created_at"
    )


def commission_summary_add(*, event: Event) -> None:
    """Summarise ``event``'s credits as they are written. Called by Submit For Billing (sales,
    uses, a Return's clawbacks) in the transaction that writes them, right after: an event's
    credits are written once, by its submission."""
    with connection.cursor() as cursor:
        cursor.execute(_summary_insert_sql("c.event_id = %s"), [event.pk])


@service_transaction
def commission_summary_rebuild() -> int:
    """Recount the whole summary from the credits (after loading credits with COPY, as
    ``seed_scale`` does). Returns the number of summary rows."""
    CommissionCreditSummary.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(_summary_insert_sql("1 = 1"))
    return CommissionCreditSummary.objects.count()
