"""Importing a contract's prices from a CSV file, all or nothing (like receiving's import).

Format: UTF-8, a header row ``reference,product_line,price,percent_off``; each row is either a
product (its catalogue ``reference``) with its contract ``price``, or a ``product_line`` (its
name) with a ``percent_off`` list price (more than 0, at most 100). An entry the contract has
already is replaced. Every row is checked before anything is written; a file with any problem is
refused whole, each problem named with its row number (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from accounts.models import User
from accounts.permissions import ensure_permission
from contracts.models import Contract
from contracts.services import entry_problem, entry_write
from core.db import service_transaction
from core.permissions import ensure_same_organization
from inventory.models import Product, ProductLine

CSV_COLUMNS = ("reference", "product_line", "price", "percent_off")
MAX_ROWS = 20_000
MAX_LINE_CHARS = 1024
MAX_ERRORS_SHOWN = 200
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RowError:
    row: int
    message: str

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}"


class ImportRefused(ValidationError):
    """The file has problems: nothing was written."""

    def __init__(self, errors):
        self.row_errors = list(errors)
        super().__init__([str(e) for e in self.row_errors[:MAX_ERRORS_SHOWN]])


def _decimal(text: str, what: str) -> tuple[Decimal | None, str | None]:
    text = text.strip().replace(",", "")
    if not text:
        return None, None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, f"the {what} “{text[:40]}” is not a number."
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        return None, f"the {what} “{text[:40]}” must be a number with at most 2 decimals."
    return value, None


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as (row number, cells by column); a bad header or encoding refuses it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused([RowError(1, f"the file is not UTF-8 text ({exc.reason}).")]) from exc
    lines = text.splitlines()
    errors, clean = [], []
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:
            errors.append(RowError(number, f"is longer than {MAX_LINE_CHARS:,} characters."))
            clean.append("")
        elif CONTROL.search(line):
            errors.append(RowError(number, "contains a NUL byte or another control character."))
            clean.append("")
        else:
            clean.append(line)
    if not lines or not clean[0].strip():
        raise ImportRefused(
            errors[:1]
            or [
                RowError(
                    1, "the file is empty: it needs a header row (" + ",".join(CSV_COLUMNS) + ")."
                )
            ]
        )
    try:
        parsed = list(csv.reader(io.StringIO("\n".join(clean))))
    except csv.Error as exc:
        raise ImportRefused([RowError(1, f"the file can't be read as CSV ({exc}).")]) from exc
    names = [h.strip().lower() for h in parsed[0]]
    if sorted(names) != sorted(CSV_COLUMNS):
        raise ImportRefused([RowError(1, "the header must be " + ",".join(CSV_COLUMNS) + ".")])
    if len(parsed) - 1 > MAX_ROWS:
        raise ImportRefused([RowError(1, f"the file has more than {MAX_ROWS:,} rows.")])
    rows = []
    for number, cells in enumerate(parsed[1:], start=2):
        if any(e.row == number for e in errors) or not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            errors.append(
                RowError(number, f"wrong number of columns ({len(cells)}, expected {len(names)}).")
            )
            continue
        rows.append((number, dict(zip(names, (c.strip() for c in cells), strict=True))))
    if errors:
        raise ImportRefused(errors)
    return rows


@service_transaction
def contract_prices_import(*, actor: User, contract: Contract, data: bytes) -> int:
    """Check every row, then write every entry (or nothing). Returns the number of entries."""
    ensure_permission(actor, "manage_contracts")
    ensure_same_organization(actor, contract)
    rows = read_rows(data)
    if not rows:
        raise ImportRefused([RowError(2, "the file has no price rows.")])
    org = actor.organization_id
    products = {
        p.reference.lower(): p
        for p in Product.objects.filter(organization_id=org)
        .annotate(reference_lower=Lower("reference"))
        .filter(reference_lower__in={c["reference"].lower() for _, c in rows if c["reference"]})
    }
    lines: dict[str, list[ProductLine]] = {}
    for line in ProductLine.objects.filter(organization_id=org).select_related("manufacturer"):
        lines.setdefault(line.name.lower(), []).append(line)
    errors, entries, seen = [], [], {}
    for number, cells in rows:
        product = line = None
        problems = []
        if cells["reference"]:
            product = products.get(cells["reference"].lower())
            if product is None:
                problems.append(f"no product has the reference “{cells['reference'][:60]}”.")
        if cells["product_line"]:
            found = lines.get(cells["product_line"].lower(), [])
            if not found:
                problems.append(f"no product line is named “{cells['product_line'][:60]}”.")
            elif len(found) > 1:
                problems.append(
                    f"“{cells['product_line'][:60]}” names product lines of several "
                    "manufacturers: price its products instead."
                )
            else:
                line = found[0]
        price, problem = _decimal(cells["price"], "price")
        problems += [problem] if problem else []
        percent, problem = _decimal(cells["percent_off"], "percent off")
        problems += [problem] if problem else []
        if not problems:
            if cells["reference"] and cells["product_line"]:
                problem = "name a product or a product line, not both."
            else:
                problem = entry_problem(
                    product=product, product_line=line, price=price, percent_off=percent
                )
            problems += [problem] if problem else []
        key = ("p", product.pk) if product else ("l", line.pk) if line else None
        if not problems and key in seen:
            problems.append(
                f"the same {'product' if product else 'product line'} is on row "
                f"{seen[key]} already."
            )
        if problems:
            errors += [RowError(number, p) for p in problems]
            continue
        seen[key] = number
        entries.append((product, line, price, percent))
    if errors:
        raise ImportRefused(errors)
    for product, line, price, percent in entries:
        entry_write(contract, product, line, price, percent)
    return len(entries)
