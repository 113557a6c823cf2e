"""CSV exports that a spreadsheet opens safely: one path for every download.

An export is a list of named ``Column``s (a title and how to read the value from a row) and the
rows; ``csv_download`` streams them (never holds the file in memory) with every cell made safe.
Rows may be model instances (``lambda e: e.name``), dicts (``key("name")``) or
``values_list(..., named=True)`` rows (``field("lot")``, the fastest for large exports: a chunk
of named rows is transposed once and each ``field`` column is read, converted and checked whole;
``field("status", convert=labels.__getitem__)`` and ``field("a", "b", convert=f)`` present a
value without a per-row function).
"""

from __future__ import annotations

import datetime
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from django.http import StreamingHttpResponse

from core.http import content_disposition

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


class field:  # noqa: N801  (used like a function: ``field("lot")``)
    """The value of a named row (``values_list(..., named=True)``) or an object attribute.

    ``field("lot")`` reads one value; ``field("a", "b", convert=f)`` reads several and writes
    ``f(a, b)``; ``field("status", convert=labels.__getitem__)`` converts one. Called on a row it
    reads that row; ``csv_download`` instead reads a whole chunk of named rows column by column
    (``names``), calling ``convert`` once per distinct value: it must be a pure function.
    """

    __slots__ = ("names", "convert", "_get")

    def __init__(self, *names: str, convert: Callable | None = None):
        if not names or (len(names) > 1 and convert is None):
            raise TypeError("field() reads one name, or several with a convert function")
        self.names, self.convert, self._get = names, convert, attrgetter(*names)

    def __call__(self, row):
        value = self._get(row)
        if self.convert is None:
            return value
        return self.convert(*value) if len(self.names) > 1 else self.convert(value)


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
        # Money keeps its cents even where a value has fewer places (Decimal("12") from a
        # COALESCE(…, 0) or arithmetic).
        return f"{value.quantize(CENT) if value.as_tuple().exponent > -2 else value:f}"
    if isinstance(value, int | float | datetime.date):
        return value
    return csv_safe(value)


# The csv module's "excel" dialect, which every export writes: cells separated by commas, rows
# ended by CRLF, a cell quoted (its quotes doubled) when it holds a comma, a quote or a line
# break. ``_csv_column`` writes exactly what ``csv.writer`` writes for these cells (a test
# compares the two), a whole column at a time.
_NEEDS_QUOTES = (",", '"', "\r", "\n")
_AS_IS = frozenset((int, datetime.date, datetime.datetime))  # str() needs no quotes
_NONE = type(None)
_SEP = "\x1f"
# A cell starting with a formula prefix, in a column's cells joined after a _SEP each. A _SEP
# inside a cell can only cause a needless cell-by-cell pass, never a miss. (One pattern that
# starts with a literal: the engine jumps from _SEP to _SEP.)
_RISKY = re.compile(_SEP + "[" + re.escape("".join(FORMULA_PREFIXES)) + "]")


def _quoted(text: str) -> str:
    """Safe text as the csv writer writes it: quoted when it holds a comma, quote or line break."""
    if any(char in text for char in _NEEDS_QUOTES):
        return '"' + text.replace('"', '""') + '"'
    return text


# The same, remembered: descriptions and names with commas repeat down a column.
_quoted_often = functools.lru_cache(maxsize=4096)(_quoted)


def _csv_text(value) -> str:
    """One cell as the csv writer writes it, made safe first (``csv_cell``)."""
    value = csv_cell(value)
    return _quoted(value if type(value) is str else str(value))


def _csv_column(values: Sequence) -> Sequence[str]:
    """``_csv_text`` on a column of cells, for speed (the exports' hot loop): the common columns
    are checked whole at C speed, and only a column holding a risky, quoted or unusual cell is
    written cell by cell. Text (and empty) cells are joined and searched for a formula start or
    a character that needs quotes; whole numbers and dates are written by ``str``."""
    types = set(map(type, values))
    if types <= {str, _NONE}:
        joined = _SEP + _SEP.join(filter(None, values))
        if not _RISKY.search(joined):
            texts = values if _NONE not in types else [value or "" for value in values]
            if any(char in joined for char in _NEEDS_QUOTES):
                return list(map(_quoted_often, texts))
            return texts
    elif types <= _AS_IS:
        return list(map(str, values))
    elif types <= _AS_IS | {_NONE}:
        return ["" if value is None else str(value) for value in values]
    return list(map(_csv_text, values))


def _column_reader(column: Column, index: dict[str, int]) -> Callable[[list, list], Sequence]:
    """How to read ``column`` from a chunk: ``reader(rows, transposed)`` gives its cells.

    A ``field`` of named rows takes its whole column from the transposed chunk (its converter
    memoised for this download: custodians and statuses repeat); any other value function is
    called on each row."""
    value = column.value
    if isinstance(value, field) and all(name in index for name in value.names):
        positions = [index[name] for name in value.names]
        if value.convert is None:
            [position] = positions
            return lambda rows, transposed: transposed[position]
        convert = functools.cache(value.convert)
        return lambda rows, transposed: list(map(convert, *(transposed[p] for p in positions)))
    return lambda rows, transposed: [value(row) for row in rows]


def csv_download(filename: str, columns: Sequence[Column], rows: Iterable) -> StreamingHttpResponse:
    """A streamed CSV download of ``rows``, one column per ``Column``: rows are read and written
    as they come (pass ``queryset.iterator()``), in chunks of 2,000 (one write to the socket per
    chunk, not per row). A chunk is written column by column (``_csv_column``); named rows read
    by ``field`` columns are transposed once, not read cell by cell."""

    def lines():
        yield ",".join(_csv_text(csv_safe(column.title)) for column in columns) + "\r\n"
        readers = None
        for batch in itertools.batched(rows, CHUNK_ROWS):
            if readers is None:
                names = getattr(batch[0], "_fields", None)
                index = {name: i for i, name in enumerate(names)} if names else {}
                readers = [_column_reader(column, index) for column in columns]
                transpose = bool(index)
            transposed = list(zip(*batch, strict=True)) if transpose else None
            cells = [_csv_column(read(batch, transposed)) for read in readers]
            if len(cells) == 1:  # a row of one empty cell is written "" (not an empty line)
                cells = [[cell or '""' for cell in cells[0]]]
            yield "\r\n".join(map(",".join, zip(*cells, strict=True))) + "\r\n"

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(filename)
    return response
