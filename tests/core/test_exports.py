"""core.exports writes a chunk column by column: the bytes must be csv.writer's, every cell made
safe by csv_cell, whatever mix of cells a column holds."""

import csv
import datetime
import io
import random
from collections import namedtuple
from decimal import Decimal

import pytest

from core.exports import CHUNK_ROWS, Column, csv_cell, csv_download, csv_safe, field, key

TRICKY = [
    "plain", "", None, "=SUM(A1)", "+1", "-5 units", "@cmd", "\tTab", "\rCR", "a,b", 'say "hi"',
    "two\nlines", "x\x1f=y", "\x1f=z", "mid=dle", "Joint – Knee", "ünïcödé, too", 0, -3, 42,
    1.5, Decimal("-12.5"), Decimal("7.255"), Decimal("3"), True, False,
    datetime.date(2026, 1, 2), datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
]


def expected_bytes(columns, rows) -> str:
    """What the row-by-row writer wrote: csv.writer over csv_cell of every cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(column.title) for column in columns])
    for row in rows:
        writer.writerow([csv_cell(column.value(row)) for column in columns])
    return buffer.getvalue()


def written(columns, rows) -> str:
    return "".join(
        chunk.decode() for chunk in csv_download("x.csv", columns, iter(rows)).streaming_content
    )


@pytest.mark.parametrize("seed", range(5))
def test_column_by_column_writes_csv_writers_bytes(seed):
    """Columns of one type (the fast paths) and mixed columns (cell by cell), over more than
    one chunk, as named rows (transposed) and as dicts (read row by row)."""
    rng = random.Random(seed)
    pure = {
        "text": lambda: rng.choice(["L1", "SN-1", "Acme", "x y"]),
        "text_or_none": lambda: rng.choice(["L1", None, ""]),
        "risky_text": lambda: rng.choice(["L1", "=1+1", "-2"]),
        "quoted_text": lambda: rng.choice(["a,b", 'q"q', "L1"]),
        "ints": lambda: rng.randint(-5, 10**6),
        "ints_or_none": lambda: rng.choice([None, 7]),
        "dates": lambda: datetime.date(2026, 1, rng.randint(1, 28)),
        "mixed": lambda: rng.choice(TRICKY),
        "none": lambda: None,
    }
    Row = namedtuple("Row", list(pure))
    rows = [Row(*(make() for make in pure.values())) for _ in range(CHUNK_ROWS + 37)]
    columns = [Column(name.title(), field(name)) for name in pure]
    assert written(columns, rows) == expected_bytes(columns, rows)
    dict_columns = [Column(name.title(), key(name)) for name in pure]
    dict_rows = [row._asdict() for row in rows]
    assert written(dict_columns, dict_rows) == expected_bytes(dict_columns, dict_rows)


def test_every_tricky_cell_alone_and_in_a_column_of_text():
    Row = namedtuple("Row", ["cell", "text"])
    rows = [Row(cell, "text") for cell in TRICKY] + [Row("text", cell) for cell in TRICKY]
    columns = [Column("Cell", field("cell")), Column("=Text", field("text"))]
    assert written(columns, rows) == expected_bytes(columns, rows)
    out = list(csv.reader(io.StringIO(written(columns, rows))))
    assert out[0] == ["Cell", "'=Text"]
    assert ["'=SUM(A1)", "text"] in out and ["'\rCR", "text"] in out
    assert ["x\x1f=y", "text"] in out  # a formula sign inside a cell is not its start


def test_a_single_column_of_empty_cells_writes_quoted_empties():
    Row = namedtuple("Row", ["serial"])
    rows = [Row(None), Row(""), Row("SN1")]
    columns = [Column("Serial", field("serial"))]
    expected = 'Serial\r\n""\r\n""\r\nSN1\r\n'
    assert written(columns, rows) == expected_bytes(columns, rows) == expected


def test_field_converts_one_or_several_names_once_per_distinct_value():
    calls = []

    def person(username, first, last):
        calls.append(username)
        return f"{first} {last} ({username})" if username else ""

    Row = namedtuple("Row", ["status", "username", "first", "last"])
    rows = [Row("available", "rep1", "Avery", "Chavez")] * 3 + [Row("consumed", None, None, None)]
    columns = [Column("Status", field("status", convert={"available": "Available",
                                                         "consumed": "Consumed"}.__getitem__)),
               Column("Custodian", field("username", "first", "last", convert=person))]
    assert written(columns, rows) == (
        "Status,Custodian\r\nAvailable,Avery Chavez (rep1)\r\nAvailable,Avery Chavez (rep1)\r\n"
        "Available,Avery Chavez (rep1)\r\nConsumed,\r\n"
    )
    assert calls == ["rep1", None]  # memoised for the download
    # Called on one row (an object or a named row) it reads that row.
    assert columns[1].value(rows[0]) == "Avery Chavez (rep1)"
    with pytest.raises(TypeError):
        field("a", "b")  # several names need a convert function
