"""Transactions for the domain services: one atomic block, retried on a lost lock race.

PostgreSQL aborts one transaction of a deadlock (SQLSTATE 40P01) and, under stricter isolation,
one of two conflicting writers (40001). The services take their locks in one global order (event,
then devices by primary key, then the document counter), so this is a safety net: the whole
service call runs again, a bounded number of times with jittered back-off, and when it still
fails the caller gets a ``ServiceBusy`` — a ``ValidationError`` whose message asks to try again,
which views show like any rule message, instead of a 500.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import Model

logger = logging.getLogger(__name__)

RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
ATTEMPTS = 5


class ServiceBusy(ValidationError):
    """The database kept refusing the transaction for contention; nothing was changed."""

    def __init__(self):
        super().__init__(
            "Someone else was changing the same records at that moment. Nothing was saved: "
            "please try again.",
            code="busy",
        )


def is_retryable(error: BaseException) -> bool:
    cause = error.__cause__ or error
    return getattr(cause, "sqlstate", None) in RETRY_SQLSTATES


def service_transaction(func=None, *, attempts: int = ATTEMPTS):
    """Run ``func`` in ``transaction.atomic()``; rerun it on a deadlock or serialization failure.

    Called inside an outer transaction (another service, a test case) it cannot be retried on
    its own, so the error goes up to the outermost service call, which retries.
    """

    def decorate(func):
        atomic = transaction.atomic(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if connection.in_atomic_block:
                return atomic(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    return atomic(*args, **kwargs)
                except OperationalError as error:
                    if not is_retryable(error):
                        raise
                    logger.warning(
                        "%s: %s (attempt %d of %d)", func.__qualname__,
                        str(error).splitlines()[0], attempt, attempts,
                    )
                    if attempt == attempts:
                        raise ServiceBusy() from error
                    time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate


# Field types whose Python values the PostgreSQL driver writes as they are: ``bulk_insert`` reads
# them straight from the instances instead of preparing each value through the ORM's compiler.
PLAIN_FIELD_TYPES = frozenset({
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField",
    "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField",
    "PositiveSmallIntegerField", "CharField", "TextField", "DecimalField", "DateTimeField",
    "DateField", "BooleanField",
})


def _plain(field) -> bool:
    target = field.target_field if field.is_relation else field
    return (
        target.get_internal_type() in PLAIN_FIELD_TYPES
        and not getattr(field, "auto_now", False)
        and not getattr(field, "auto_now_add", False)
        and not field.generated
        and field.db_returning is False
    )


def bulk_insert(objs: Sequence[Model]) -> list[Model]:
    """``bulk_create`` for a large batch of new rows of one model, made of plain fields.

    The rows are written by one ``INSERT … SELECT * FROM unnest(%s::type[], …) RETURNING id``
    whose arrays are read straight from the instances: the same statement ``bulk_create`` sends,
    without the compiler's per-value preparation (a third of the time of a 1,500-row insert).
    Each instance gets its primary key, as ``bulk_create`` gives it. When a field needs its value
    prepared (file, JSON, auto_now…), it is ``bulk_create``.
    """
    if not objs:
        return []
    model = type(objs[0])
    opts = model._meta
    pk = opts.pk
    fields = [f for f in opts.concrete_fields if f is not pk]
    if (
        not pk.db_returning
        or any(type(obj) is not model or obj.pk is not None for obj in objs)
        or not all(_plain(f) for f in fields)
    ):
        return model._default_manager.bulk_create(objs)
    quote = connection.ops.quote_name
    # No length in the casts (varchar[], numeric[]): a cast to varchar(n) would cut a long value
    # short where the column refuses it.
    casts = [f.db_type(connection).split("(")[0] for f in fields]
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT * FROM unnest({', '.join(f'(%s)::{cast}[]' for cast in casts)}) "
        f"RETURNING {quote(pk.column)}"
    )
    columns = [[getattr(obj, f.attname) for obj in objs] for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, columns)
        ids = cursor.fetchall()
    for obj, (pk_value,) in zip(objs, ids, strict=True):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)


def bulk_update(objs: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of saved rows of one model, each row its own values, set-based.

    One ``UPDATE … FROM unnest(%s::bigint[], %s::type[], …) AS v WHERE id = v.id`` whatever the
    number of rows and distinct values (a facility-stock case consumes devices sold by many
    stocking orders: as many distinct states). When a field needs its value prepared (file,
    JSON…), one ``UPDATE … WHERE id IN (…)`` per distinct set of values. Never ``bulk_update``'s
    CASE WHEN per row and field. Values are the model's Python values (aware datetimes), as
    ``bulk_insert`` takes them.
    """
    if not objs:
        return
    model = type(objs[0])
    opts = model._meta
    targets = [opts.get_field(name) for name in fields]
    attnames = [f.attname for f in targets]
    if not all(_plain(f) for f in targets):
        groups: dict[tuple, list] = {}
        for obj in objs:
            groups.setdefault(tuple(getattr(obj, a) for a in attnames), []).append(obj.pk)
        for values, pks in groups.items():
            model._default_manager.filter(pk__in=pks).update(
                **dict(zip(attnames, values, strict=True))
            )
        return
    quote = connection.ops.quote_name
    pk = opts.pk
    names = [pk.column, *(f.column for f in targets)]
    casts = [f.db_type(connection).split("(")[0] for f in [pk, *targets]]
    table = quote(opts.db_table)
    sql = (
        f"UPDATE {table} SET "
        + ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in targets)
        + f" FROM unnest({', '.join(f'(%s)::{cast}[]' for cast in casts)}) "
        + f"AS v({', '.join(quote(name) for name in names)}) "
        + f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    params = [[obj.pk for obj in objs], *([getattr(obj, a) for obj in objs] for a in attnames)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
