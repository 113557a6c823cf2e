"""Commission settings and payouts: the only writes of the reporting screens.

Plans hold fractions (0.1000 is 10 %); the forms convert from percentages. Credits are written by
``events.services.event_submit_for_billing``; here they are only marked paid.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.db import service_transaction
from events.models import CommissionCredit, CommissionPlan
from inventory.models import ProductLine
from inventory.services import ensure_role, ensure_same_organization


def _check_plan(actor: User, rep: User | None, product_line: ProductLine | None,
                rate: Decimal, stocking_share: Decimal) -> None:
    ensure_role(actor, User.Role.ADMIN, action="edit commission plans")
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
    ensure_role(actor, User.Role.ADMIN, action="edit commission plans")
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
    ensure_role(actor, User.Role.ADMIN, action="mark commissions paid")
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
