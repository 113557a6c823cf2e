"""One pass of several GROUP BYs of a queryset (PostgreSQL GROUPING SETS), for the reports and
the billing figures. Every value goes in as a query parameter; only table and column names
(quoted) and our own aliases are written into the SQL."""

from __future__ import annotations

from django.db import connection
from django.db.models import F, QuerySet


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def grouping_sets(queryset: QuerySet, columns: dict[str, str], sets: dict[str, tuple[str, ...]],
                  detail: dict[str, str], aggregates: dict[str, tuple[str, list]],
                  labels: dict[str, tuple[type, dict[str, str]]] | None = None,
                  measures: tuple[str, ...] = (), organization_id: int | None = None,
                  ) -> dict[str, list[dict]]:
    """Several GROUP BYs of one queryset in one pass (PostgreSQL GROUPING SETS).

    ``columns`` names the queryset's values (alias: lookup); ``sets`` maps a name to the aliases
    it groups by (``()``: one row for all). The rows are first summed once by every grouped alias
    and the other columns but ``measures`` (``detail``: alias → SQL over the rows, e.g.
    ``COUNT(*)``, ``SUM(price)`` with ``price`` a measure), then each set adds those partial sums
    up: ``aggregates`` maps an alias to (SQL, its parameters) over the grouped and other columns
    and the ``detail`` aliases — enum values go in as parameters (``kind = %s``), never as
    literals. ``labels`` maps a grouped id alias to (model, {alias: field}): names joined to the
    few result rows, so that the rows are grouped by integers (hashed), not sorted by text;
    with ``organization_id``, read from that organisation's rows only (through its index),
    never by hashing every organisation's products, facilities or users.
    Returns each set's rows as dicts of its grouped columns, labels and aggregates.
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
    labels = {key: label for key, label in labels.items() if key in grouped}
    inner = ", ".join([f"GROUPING({', '.join(firsts)}) AS fs_set", *grouped,
                       *(f"{expression} AS {alias}"
                         for alias, (expression, _) in aggregates.items())])
    aggregate_params = [value for _, values in aggregates.values() for value in values]
    groups = ", ".join(f"({', '.join(group)})" for group in sets.values())
    keys = [alias for alias in aliases if alias not in measures]
    partial = ", ".join([*keys, *(f"{expression} AS {alias}"
                                  for alias, expression in detail.items())])
    sql = (f"SELECT {inner} FROM (SELECT {partial} FROM ({sql}) AS fs_lines "
           f"({', '.join(aliases)}) GROUP BY {', '.join(keys)}) AS fs_partial "
           f"GROUP BY GROUPING SETS ({groups})")
    outer, joins, label_params = ["fs_g.*"], [], []
    for n, (key, (model, fields)) in enumerate(labels.items()):
        names = [quote(model._meta.get_field(field).column) for field in fields.values()]
        table = quote(model._meta.db_table)
        if organization_id is not None:
            table = (f"(SELECT id, {', '.join(names)} FROM {table} "
                     "WHERE organization_id = %s)")
            label_params.append(organization_id)
        joins.append(f"LEFT JOIN {table} AS fs_l{n} ON fs_l{n}.id = fs_g.{key}")
        outer += [f"fs_l{n}.{name}" for name in names]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(outer)} FROM ({sql}) AS fs_g {' '.join(joins)}",
                       [*aggregate_params, *params, *label_params])
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
