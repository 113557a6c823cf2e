"""Receiving many devices at once: a CSV file or a list of scanned UDI labels.

Every row is validated BEFORE anything is written; a file with any problem is refused whole
(``ImportRefused`` lists every problem with its row number). A clean file is written in one
transaction through ``devices_receive``, one call per (product, lot, expiry, custodian) group.

CSV format: UTF-8, a header row ``gtin,lot,serial,expiration_date,custodian``;
``expiration_date`` is YYYY-MM-DD; ``custodian`` is a username of the organisation.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_permission
from core.db import service_transaction
from inventory.models import Device, Product
from inventory.services import LOT_MAX, SERIAL_MAX, devices_receive
from inventory.udi import parse_udi

CSV_COLUMNS = ("gtin", "lot", "serial", "expiration_date", "custodian")
MAX_ERRORS_SHOWN = 200
RECEIVE_BATCH = 1000
# A receiving row is a few dozen characters; a longer line is refused (by row), never parsed.
MAX_LINE_CHARS = 4096
FIELD_MAX = {"gtin": 14, "lot": LOT_MAX, "serial": SERIAL_MAX, "custodian": 150}
# C0 control characters and DEL, except tab and line breaks.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ReceiptRow:
    """One unit to receive, as read from a file or a label (``row`` counts from 1 = header)."""

    row: int
    gtin: str
    lot: str
    serial: str
    expiration_date: str | datetime.date | None
    custodian: str  # username
    problem: str = ""  # set when the row could not even be read (e.g. wrong column count)


@dataclass(frozen=True)
class RowError:
    row: int
    message: str

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}"


class ImportRefused(ValidationError):
    """The file has problems: nothing was written."""

    def __init__(self, errors: Sequence[RowError]):
        self.row_errors = list(errors)
        super().__init__([str(e) for e in self.row_errors[:MAX_ERRORS_SHOWN]])


@dataclass(frozen=True)
class ImportResult:
    rows: int
    devices: int
    groups: int
    dry_run: bool


def labels_to_rows(labels: Sequence[str], custodian: str = "") -> list[ReceiptRow]:
    """Scanned UDI labels as receipt rows (``row`` is the label's position, from 1)."""
    rows = []
    for number, label in enumerate(labels, start=1):
        try:
            udi = parse_udi(label)
        except ValidationError as exc:
            rows.append(ReceiptRow(number, "", "", "", None, custodian,
                                   problem=" ".join(exc.messages)))
            continue
        rows.append(ReceiptRow(number, udi.gtin, udi.lot, udi.serial, udi.expiration_date,
                               custodian))
    return rows


def scan_list_step(
    *, actor: User, labels: Sequence[str], action: str, label: str = ""
) -> tuple[list[str], list[str]]:
    """One step of Receiving → Scan labels: the list of labels after ``action`` ("add" the
    scanned ``label``, "remove-<n>" the n-th) and what is wrong with the label added, if anything.

    A label is kept in its printable form (raw scans carry GS control characters); an unreadable
    one stays as typed and the check says what is wrong with it. Writes nothing."""
    labels = list(labels)
    errors: list[str] = []
    if action.startswith("remove-"):
        index = action.removeprefix("remove-")
        if index.isdigit() and int(index) < len(labels):
            labels.pop(int(index))
    elif action == "add":
        label = label.strip()
        with contextlib.suppress(ValidationError):
            label = parse_udi(label).hri if label else ""
        if label in labels:
            errors.append("This label is already in the list.")
        elif label:
            _, row_errors = validate_rows(
                actor=actor, rows=labels_to_rows([*labels, label]), check_custodian=False
            )
            errors = [e.message for e in row_errors if e.row == len(labels) + 1]
            if not errors:
                labels.append(label)
    return labels, errors


def scan_list_preview(*, actor: User, labels: Sequence[str]) -> list:
    """The scanned labels as the devices they would receive (product, lot, serial, expiry)."""
    if not labels:
        return []
    checked, _ = validate_rows(actor=actor, rows=labels_to_rows(labels), check_custodian=False)
    return checked


def read_csv(data: bytes | str | Iterable[str]) -> Iterator[ReceiptRow]:
    """Yield rows of a receiving CSV; a wrong header or encoding refuses the whole file."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                [RowError(1, f"the file is not UTF-8 text ({exc.reason}).")]
            ) from exc
    if isinstance(data, str):
        data = io.StringIO(data, newline="")
    line_problems: dict[int, str] = {}
    reader = csv.reader(_screened_lines(data, line_problems))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportRefused([RowError(1, f"the header row can't be read ({exc}).")]) from exc
    if 1 in line_problems:
        raise ImportRefused([RowError(1, f"the header row {line_problems[1]}.")])
    if header is None:
        raise ImportRefused([RowError(1, "the file is empty: it needs a header row.")])
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    unknown = [h for h in names if h not in CSV_COLUMNS]
    if missing or unknown or len(names) != len(set(names)):
        problems = []
        if missing:
            problems.append("missing column " + ", ".join(missing))
        if unknown:
            problems.append("unknown column " + ", ".join(h or "(empty)" for h in unknown))
        if len(names) != len(set(names)):
            problems.append("a column appears twice")
        raise ImportRefused([RowError(1, "; ".join(problems) + " (expected header: "
                                      + ",".join(CSV_COLUMNS) + ").")])
    index = {name: names.index(name) for name in CSV_COLUMNS}
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise ImportRefused(
                [RowError(reader.line_num, f"the row can't be read as CSV ({exc}).")]
            ) from exc
        if cells is None:
            break
        number = reader.line_num
        if number in line_problems:
            yield ReceiptRow(number, "", "", "", None, "", problem=line_problems[number] + ".")
            continue
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(names):
            yield ReceiptRow(number, "", "", "", None, "", problem=(
                f"wrong number of columns ({len(cells)}, expected {len(names)})."))
            continue
        yield ReceiptRow(
            row=number,
            gtin=cells[index["gtin"]].strip(),
            lot=cells[index["lot"]].strip(),
            serial=cells[index["serial"]].strip(),
            expiration_date=cells[index["expiration_date"]].strip(),
            custodian=cells[index["custodian"]].strip(),
        )


def _screened_lines(lines: Iterable[str], problems: dict[int, str]) -> Iterator[str]:
    """The file's lines for the CSV reader; a line that is too long or carries control
    characters is recorded in ``problems`` (by line number) and handed on empty."""
    for number, line in enumerate(lines, start=1):
        body = line.rstrip("\r\n")
        if len(body) > MAX_LINE_CHARS:
            problems[number] = f"is longer than {MAX_LINE_CHARS:,} characters"
        elif CONTROL.search(body):
            problems[number] = "contains a NUL byte or another control character"
        else:
            yield line
            continue
        yield "\n"


@dataclass
class _Checked:
    row: ReceiptRow
    product: Product
    expiration_date: datetime.date
    custodian: User


def validate_rows(
    *, actor: User, rows: Iterable[ReceiptRow], today: datetime.date | None = None,
    progress: Callable[[Iterable, str], Iterable] | None = None, check_custodian: bool = True,
) -> tuple[list[_Checked], list[RowError]]:
    """Check every row; return the clean rows and every problem found (row numbers kept).

    Three queries whatever the size: products by GTIN, custodians by username, and the serials
    already received for those products.
    """
    today = today or timezone.localdate()
    rows = list(rows)
    org = actor.organization_id
    gtins = {r.gtin for r in rows if r.gtin}
    products = {p.gtin: p for p in Product.objects.filter(organization_id=org, gtin__in=gtins)}
    usernames = {r.custodian for r in rows if r.custodian}
    custodians = {u.username: u for u in User.objects.filter(organization_id=org,
                                                              username__in=usernames)}
    existing = set(
        Device.objects.filter(product__in=products.values(),
                              serial__in={r.serial for r in rows if r.serial})
        .values_list("product__gtin", "serial")
    ) if products else set()

    errors: list[RowError] = []
    checked: list[_Checked] = []
    seen: dict[tuple[str, str], int] = {}
    for r in progress(rows, "Validating") if progress else rows:
        if r.problem:
            errors.append(RowError(r.row, r.problem))
            continue
        too_long = [
            f"the {name} is longer than {limit} characters"
            for name, limit in FIELD_MAX.items()
            if len(getattr(r, name) or "") > limit
        ]
        if too_long:
            errors.append(RowError(r.row, "; ".join(too_long) + "."))
            continue
        problems = []
        product = products.get(r.gtin)
        if not r.gtin:
            problems.append("the GTIN is missing")
        elif product is None:
            problems.append(f"unknown GTIN {r.gtin} (not in your catalogue)")
        if not r.lot:
            problems.append("the lot is missing")
        if not r.serial:
            problems.append("the serial number is missing")
        elif r.gtin:
            key = (r.gtin, r.serial)
            if key in existing:
                problems.append(f"serial {r.serial} of GTIN {r.gtin} was already received")
            elif key in seen:
                problems.append(f"serial {r.serial} of GTIN {r.gtin} repeats row {seen[key]}")
            else:
                seen[key] = r.row
        expiry = r.expiration_date
        if isinstance(expiry, str):
            try:
                expiry = datetime.date.fromisoformat(expiry) if len(expiry) == 10 else None
            except ValueError:
                expiry = None
            if expiry is None:
                problems.append(
                    f"bad expiration date {r.expiration_date!r} (use YYYY-MM-DD)"
                    if r.expiration_date else "the expiration date is missing"
                )
        elif expiry is None:
            problems.append("the expiration date is missing")
        if isinstance(expiry, datetime.date) and expiry < today:
            problems.append(f"expiry {expiry:%Y-%m-%d} is in the past")
        custodian = custodians.get(r.custodian)
        if not check_custodian:
            pass
        elif not r.custodian:
            problems.append("the custodian is missing")
        elif custodian is None:
            problems.append(f"unknown custodian {r.custodian!r} (a username of your organisation)")
        elif not custodian.is_active or custodian.role == User.Role.MANAGER:
            problems.append(f"{r.custodian} can't hold inventory")
        if problems:
            errors.append(RowError(r.row, "; ".join(problems) + "."))
        else:
            checked.append(_Checked(r, product, expiry, custodian))
    return checked, errors


@service_transaction
def devices_import(
    *, actor: User, rows: Iterable[ReceiptRow], dry_run: bool = False,
    today: datetime.date | None = None,
    progress: Callable[[Iterable, str], Iterable] | None = None,
) -> ImportResult:
    """Validate every row, then receive all of them or none (one transaction).

    Raises ``ImportRefused`` listing every problem with its row number.
    """
    ensure_permission(actor, "receive_inventory")
    rows = list(rows)
    if not rows:
        raise ImportRefused([RowError(1, "there are no devices to receive.")])
    checked, errors = validate_rows(actor=actor, rows=rows, today=today, progress=progress)
    if errors:
        raise ImportRefused(errors)
    groups: dict[tuple, list[_Checked]] = {}
    for c in checked:
        key = (c.product.pk, c.row.lot, c.expiration_date, c.custodian.pk)
        groups.setdefault(key, []).append(c)
    if dry_run:
        return ImportResult(rows=len(rows), devices=0, groups=len(groups), dry_run=True)
    created = 0
    # Batches of at most RECEIVE_BATCH devices: bounded statements and a smooth progress bar.
    chunks = [group[i:i + RECEIVE_BATCH] for group in groups.values()
              for i in range(0, len(group), RECEIVE_BATCH)]
    for group in progress(chunks, "Receiving") if progress else chunks:
        first = group[0]
        try:
            created += len(devices_receive(
                actor=actor, product=first.product, lot=first.row.lot,
                expiration_date=first.expiration_date, serials=[c.row.serial for c in group],
                custodian=first.custodian, today=today,
            ))
        except ValidationError as exc:  # raced with another receipt: refuse the whole file
            raise ImportRefused(
                [RowError(first.row.row, m) for m in exc.messages]
            ) from exc
    return ImportResult(rows=len(rows), devices=created, groups=len(groups), dry_run=False)
