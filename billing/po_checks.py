"""Is an uploaded purchase order a plain PDF? Parsed with pypdf, every object inspected.

Refused: anything pypdf cannot read as a PDF with at least one page, encrypted files (they cannot
be inspected), JavaScript, launch / submit / import actions, embedded or attached files, rich media
and XFA forms, and HTML or SVG markup anywhere in the bytes (HTML/PDF polyglots).
"""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

logger = logging.getLogger(__name__)

FORBIDDEN_KEYS = {
    "/JavaScript": "JavaScript",
    "/JS": "JavaScript",
    "/Launch": "a launch action",
    "/EmbeddedFiles": "embedded files",
    "/EmbeddedFile": "embedded files",
    "/EF": "embedded files",
    "/RichMedia": "rich media",
    "/XFA": "an XFA form",
}
FORBIDDEN_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "a launch action",
    "/SubmitForm": "a form-submit action",
    "/ImportData": "an import action",
    "/GoToE": "an embedded-file action",
    "/RichMediaExecute": "rich media",
    "/Rendition": "a media action",
}
FORBIDDEN_SUBTYPES = {"/FileAttachment": "an attached file", "/RichMedia": "rich media"}
MARKUP = re.compile(rb"<\s*(script|html|body|svg|iframe|!doctype)\b", re.IGNORECASE)
MAX_OBJECTS = 200_000


class PdfRefused(Exception):
    pass


def _walk(value, found: set[str], seen: set[int], budget: list[int]) -> None:
    stack = [value]
    while stack:
        budget[0] -= 1
        if budget[0] < 0:
            raise PdfRefused("it is too complex to inspect")
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for key, child in item.items():
                if key in FORBIDDEN_KEYS:
                    found.add(FORBIDDEN_KEYS[key])
                if key == "/S" and child in FORBIDDEN_ACTIONS:
                    found.add(FORBIDDEN_ACTIONS[child])
                if key == "/Subtype" and child in FORBIDDEN_SUBTYPES:
                    found.add(FORBIDDEN_SUBTYPES[child])
                stack.append(child)
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def po_pdf_problem(data: bytes) -> str | None:
    """Why ``data`` is refused as a PO upload, or None when it is a plain PDF."""
    if not data.startswith(b"%PDF-"):
        return "it is not a PDF file"
    if MARKUP.search(data):
        return "it contains HTML or SVG markup (a PDF must not double as a web page)"
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return "it is encrypted, so it cannot be checked"
        if len(reader.pages) < 1:
            return "it has no pages"
        found: set[str] = set()
        seen: set = set()
        budget = [MAX_OBJECTS]
        _walk(reader.trailer, found, seen, budget)
        # Objects not reachable from the trailer are inspected too.
        for generation, objects in reader.xref.items():
            for number in objects:
                _walk(IndirectObject(number, generation, reader), found, seen, budget)
        for number in reader.xref_objStm:
            _walk(IndirectObject(number, 0, reader), found, seen, budget)
    except PdfRefused as exc:
        return str(exc)
    except Exception as exc:  # pypdf raises many kinds of errors on damaged input
        logger.info("PO upload refused: pypdf could not read it: %r", exc)
        return "it cannot be read as a PDF"
    if found:
        return "it contains " + ", ".join(sorted(found))
    return None
