"""CSV exports that a spreadsheet opens safely: one path for every download.

An export is a list of named ``Column``s (a title and how to read the value from a row) and the
rows; ``csv_download`` streams them (never holds the file in memory) with every cell made safe.
Rows may be model instances (``lambda e: e.name``), dicts (``key("name")``) or
``values_list(..., named=True)`` rows (``field("lot")``, the fastest for large exports).
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from django.http import StreamingHttpResponse

# A cell starting with one of these is run as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000
CENT = Decimal("0.01")


class Column(NamedTuple):
    """One column of an export: its title in the header and how to read its value from a row."""

    title: str
    value: Callable[[Any], Any]


def key(name: str) -> Callable:
    """The value of a dict row: ``Column("Facility", key("facility"))``."""
    return itemgetter(name)


def field(name: str) -> Callable:
    """The value of a named row (``values_list(..., named=True)``) or an object attribute."""
    return attrgetter(name)


def csv_safe(value) -> str:
    """The cell as text, with a ' in front when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value):
    """A cell a spreadsheet won't run. Text starting with = + - @ (or tab/CR) gets a ' prefix;
    numbers and dates are written as they are (a credit stays negative), money with its cents;
    None is empty, booleans are yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        # Money keeps its cents even where the database dropped them (SQLite sums).
        return f"{value.quantize(CENT) if value.as_tuple().exponent > -2 else value:f}"
    if isinstance(value, int | float | datetime.date):
        return value
    return csv_safe(value)


_PREFIXES = frozenset(FORMULA_PREFIXES)
_AS_IS = frozenset((int, float, datetime.date, datetime.datetime))


def _safe_row(row) -> list:
    """``csv_cell`` on every cell, written for speed (the exports' hot loop): the common types
    (text, None, int, float, dates) are handled inline, the rest by ``csv_cell``."""
    return [
        ("'" + v if v[:1] in _PREFIXES else v) if type(v) is str
        else "" if v is None
        else v if type(v) in _AS_IS
        else csv_cell(v)
        for v in row
    ]


def csv_download(filename: str, columns: Sequence[Column], rows: Iterable) -> StreamingHttpResponse:
    """A streamed CSV download of ``rows``, one column per ``Column``: rows are read and written
    as they come (pass ``queryset.iterator()``), in chunks of 2,000 (one write to the socket per
    chunk, not per row)."""
    getters = [column.value for column in columns]

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([csv_safe(column.title) for column in columns])
        for batch in itertools.batched(rows, CHUNK_ROWS):
            writer.writerows([_safe_row([get(row) for get in getters]) for row in batch])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
