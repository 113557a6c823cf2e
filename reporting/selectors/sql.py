"""SQL the reports share (PostgreSQL): names joined to a few rows, name ranks; one pass of
several GROUP BYs is ``core.grouping``. Every value goes in as a query parameter; only table and
column names (quoted) and our own aliases are written into the SQL."""

from __future__ import annotations

import datetime

from django.db import connection

from consignment.models import Facility
from core.grouping import quote
from inventory.models import Product, ProductLine

NAMED_FIELDS = ("facility_id", "product_id", "facility", "reference", "description",
                "product_line")


def fetch(sql: str, params) -> list[dict]:
    """The rows of ``sql`` as dicts."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def named(sql: str) -> str:
    """Rows of ``sql`` (with facility_id and product_id) with the facility's name and the
    product's reference, description and line."""
    facility, product = quote(Facility._meta.db_table), quote(Product._meta.db_table)
    line = quote(ProductLine._meta.db_table)
    return (
        "SELECT fs_r.*, fs_f.name AS facility, fs_p.reference, fs_p.description, "
        f"fs_pl.name AS product_line FROM ({sql}) AS fs_r "
        f"JOIN {facility} AS fs_f ON fs_f.id = fs_r.facility_id "
        f"JOIN {product} AS fs_p ON fs_p.id = fs_r.product_id "
        f"JOIN {line} AS fs_pl ON fs_pl.id = fs_p.product_line_id"
    )


def ranks(organization_id: int) -> tuple[str, list]:
    """Two CTEs, fs_fr and fs_pr, and their parameters: each of the organisation's facilities'
    and products' rank (id, r) by name and by reference in code-point order (``COLLATE "C"``, as
    Python compares strings), equal names equal ranks. A few hundred rows (the organisation's
    own, never every organisation's: ranking the 29k products of a hundred organisations cost
    ~40 ms of the dashboard at a million devices): ordering rows by these integers and then by
    ids is ordering them by the names, without joining the names to every row."""
    facility, product = quote(Facility._meta.db_table), quote(Product._meta.db_table)
    return (
        'fs_fr AS (SELECT id, DENSE_RANK() OVER (ORDER BY name COLLATE "C") AS r '
        f"FROM {facility} WHERE organization_id = %s), "
        'fs_pr AS (SELECT id, DENSE_RANK() OVER (ORDER BY reference COLLATE "C") AS r '
        f"FROM {product} WHERE organization_id = %s)"
    ), [organization_id, organization_id]


def by_name(row: dict) -> tuple:
    """Facility name, then catalogue number (ids break ties): the order of the stock tables, the
    same as ``ranks`` (code-point order)."""
    return row["facility"], row["reference"], row["facility_id"], row["product_id"]


def month(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
