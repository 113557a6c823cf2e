"""Small request helpers the views of several apps share."""

from __future__ import annotations


def query_without(request, *names: str) -> str:
    """The request's query string without ``names`` (for export links and pagers)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
