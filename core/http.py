"""Small request helpers the views of several apps share."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote


def query_without(request, *names: str) -> str:
    """The request's query string without ``names`` (for export links and pagers)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


MAX_ID = 2**63 - 1  # the largest bigint: a larger number is no row's id


def int_id(value) -> int | None:
    """A row id from a form or query string: a whole number from 1 to the largest bigint, else
    None. (A larger integer saved as a foreign key or cast to bigint is a PostgreSQL DataError,
    "bigint out of range": a 500 rather than a row not found.)"""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def int_ids(values) -> list[int]:
    """The values that are row ids (``int_id``), as ints; the rest, tampered or blank, are
    dropped."""
    return [number for number in map(int_id, values) if number is not None]


def content_disposition(filename: str, *, attachment: bool = True) -> str:
    """A ``Content-Disposition`` value for ``filename`` (RFC 6266): an ASCII ``filename=``
    for old clients (accents dropped, anything else but letters, digits, ``.-_`` as ``_``) and
    the exact name as ``filename*=UTF-8''…`` (RFC 5987), which every current browser prefers.
    Every file we send names itself through this."""
    disposition = "attachment" if attachment else "inline"
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", ascii_name).strip("._") or "download"
    value = f'{disposition}; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
