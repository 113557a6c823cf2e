"""Query plans for the tests that check how PostgreSQL reads a table (indexes, no full scans)."""

from __future__ import annotations

import json

from django.db import connection


def plan_nodes(sql: str, params=(), *, relation: str | None = None) -> list[dict]:
    """Every node of ``sql``'s plan (EXPLAIN (FORMAT JSON)), or only those reading ``relation``.
    A logged query with its parameters inlined runs with none (a LIKE's "%" is no placeholder)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params or None)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if relation is None or node.get("Relation Name") == relation:
            nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes
