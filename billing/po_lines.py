"""A PO's lines as the admin types them, or as read from the uploaded PDF's text.

Typed: one line per product, ``reference, quantity, unit price`` (commas, semicolons or tabs
between them; a ``$`` and thousands separators are allowed in the price).

From the PDF (``lines_from_pdf_text``, on the text pypdf extracts — the PDF has already passed
``billing.po_checks``): a text line is a PO line when one of its words is the catalogue reference
of one of the organisation's products, followed by a whole number (the quantity) and then an
amount with two decimals (the unit price; a further amount, the line's extension, is ignored).
The PO's total is the last amount on the last line that starts with "Total" (not "Subtotal").
What it does not read: scanned (image-only) PDFs, references split across lines, quantities
written before the reference, units of measure other than "each", several lines of one product
(the quantities are added, the last price kept). Anything not read is left to the admin, who
can type or correct the lines.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from pypdf import PdfReader

from inventory.models import Product

MAX_LINES = 500
QUANTITY = re.compile(r"^\d{1,6}$")
AMOUNT = re.compile(r"^\$?\(?(\d{1,3}(,\d{3})+|\d+)\.\d{2}\)?$")
SEPARATORS = re.compile(r"[,;\t]")
MAX_PDF_PAGES = 50


@dataclass(frozen=True)
class StatedLine:
    product: Product
    quantity: int
    price: Decimal


def _amount(text: str) -> Decimal | None:
    text = text.strip().replace("$", "").replace(",", "").strip("()")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        return None
    return value


def _products(organization_id: int, references) -> dict[str, Product]:
    from django.db.models.functions import Upper

    wanted = {r.upper() for r in references if r}
    if not wanted:
        return {}
    return {
        p.reference.upper(): p
        for p in Product.objects.filter(organization_id=organization_id)
        .annotate(ref_upper=Upper("reference"))
        .filter(ref_upper__in=wanted)
    }


def _merge(lines: list[StatedLine]) -> list[StatedLine]:
    merged: dict[int, StatedLine] = {}
    for line in lines:
        before = merged.get(line.product.pk)
        quantity = line.quantity + (before.quantity if before else 0)
        merged[line.product.pk] = StatedLine(line.product, quantity, line.price)
    return list(merged.values())


def parse_typed_lines(*, organization_id: int, text: str) -> list[StatedLine]:
    """``reference, quantity, unit price`` per line; every problem named by its line number."""
    rows = [
        (n, line.strip())
        for n, line in enumerate((text or "").splitlines(), start=1)
        if line.strip()
    ]
    if len(rows) > MAX_LINES:
        raise ValidationError({"lines": f"A PO may list at most {MAX_LINES} lines."})
    cells = []
    for number, line in rows:
        parts = [p.strip() for p in SEPARATORS.split(line) if p.strip()]
        if len(parts) > 3:  # "1,250.00" split at its thousands separator: join the price back
            parts = [parts[0], parts[1], "".join(parts[2:])]
        cells.append((number, parts))
    products = _products(organization_id, [parts[0] for _, parts in cells if parts])
    errors, stated = [], []
    for number, parts in cells:
        if len(parts) != 3:
            errors.append(
                f"Line {number}: write the reference, the quantity and the unit price, "
                "separated by commas."
            )
            continue
        reference, quantity, price = parts
        product = products.get(reference.upper())
        if product is None:
            errors.append(f"Line {number}: no product has the reference “{reference[:60]}”.")
            continue
        if not QUANTITY.match(quantity) or int(quantity) == 0:
            errors.append(
                f"Line {number}: the quantity “{quantity[:20]}” must be a whole number above 0."
            )
            continue
        amount = _amount(price)
        if amount is None:
            errors.append(
                f"Line {number}: the unit price “{price[:20]}” must be an amount like 850.00."
            )
            continue
        stated.append(StatedLine(product, int(quantity), amount))
    if errors:
        raise ValidationError({"lines": errors})
    return _merge(stated)


@dataclass(frozen=True)
class PdfReading:
    lines: list[StatedLine]
    total: Decimal | None


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join((page.extract_text() or "") for page in reader.pages[:MAX_PDF_PAGES])


def lines_from_pdf_text(*, organization_id: int, text: str) -> PdfReading:
    """The PO lines and total this module's docstring says it can read from ``text``."""
    rows = [line.split() for line in text.splitlines()]
    products = _products(organization_id, {word for words in rows for word in words})
    stated, total = [], None
    for words in rows:
        if words and words[0].lower().rstrip(":") in {"total", "po total", "order total"}:
            amounts = [a for a in (_amount(w) for w in words if AMOUNT.match(w)) if a is not None]
            if amounts:
                total = amounts[-1]
            continue
        for index, word in enumerate(words):
            product = products.get(word.upper())
            if product is None:
                continue
            rest = words[index + 1 :]
            quantity = next((int(w) for w in rest if QUANTITY.match(w) and int(w) > 0), None)
            if quantity is None:
                break
            after = rest[rest.index(str(quantity)) + 1 :]
            price = next((_amount(w) for w in after if AMOUNT.match(w)), None)
            if price is not None:
                stated.append(StatedLine(product, quantity, price))
            break
        if len(stated) >= MAX_LINES:
            break
    return PdfReading(_merge(stated), total)
