"""Reads of users that several apps' forms share."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User


def reps_for(user: User) -> QuerySet:
    qs = User.objects.for_user(user).filter(role=User.Role.REP)
    if user.role == User.Role.REP:
        qs = qs.filter(pk=user.pk)
    return qs.order_by("last_name", "first_name", "username")
