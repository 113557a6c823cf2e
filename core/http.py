"""Small request helpers the views of several apps share."""

from __future__ import annotations


def query_without(request, *names: str) -> str:
    """The request's query string without ``names`` (for export links and pagers)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def int_ids(values) -> list[int]:
    """The values that are whole numbers, as ints (ids from a form or query string); the rest,
    tampered or blank, are dropped."""
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids
