"""CSV exports that a spreadsheet opens safely."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

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
