"""CSV exports that a spreadsheet opens safely."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

# A cell starting with one of these is run as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """The cell as text, with a ' in front when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


CHUNK_ROWS = 2000


_PREFIXES = frozenset(FORMULA_PREFIXES)
_PLAIN = (int, float, Decimal)


def _safe_row(row) -> list:
    """csv_safe on every cell, written for speed (the CSV exports' hot loop): text is checked
    for a formula prefix, None is empty, non-negative numbers and dates pass as they are."""
    return [
        ("'" + v if v[:1] in _PREFIXES else v) if type(v) is str
        else "" if v is None
        else v if (type(v) in _PLAIN and v >= 0) or isinstance(v, datetime.date)
        else csv_safe(v)
        for v in row
    ]


def stream_csv(filename: str, header: Sequence[str], rows: Iterable) -> StreamingHttpResponse:
    """A streamed CSV download: rows are written as they are read, never held in memory.

    Rows go out in chunks of 2,000 (one write to the socket per chunk, not per row).
    """

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([csv_safe(v) for v in header])
        for batch in itertools.batched(rows, CHUNK_ROWS):
            writer.writerows(map(_safe_row, batch))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


CENT = Decimal("0.01")


def csv_cell(value) -> str:
    """A cell a spreadsheet won't run: text starting with = + - @ (or tab/CR) gets a ' prefix.
    Numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        # Money keeps its cents even where the database dropped them (SQLite sums).
        return f"{value.quantize(CENT) if value.as_tuple().exponent > -2 else value:f}"
    if isinstance(value, int | float):
        return str(value)
    return csv_safe(value)


Column = tuple[str, Callable]


def csv_response(filename: str, columns: Sequence[Column], rows: Iterable) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(title) for title, _ in columns])
    for row in rows:
        writer.writerow([csv_cell(get(row)) for _, get in columns])
    return response


def key(name: str) -> Callable:
    return lambda row: row[name]
