"""Is an uploaded purchase order a plain PDF? Parsed with pypdf, every object inspected.

Refused: anything pypdf cannot read as a PDF with at least one page, encrypted files (they cannot
be inspected), every action but plain navigation within the document (``/GoTo``, and the
``/Named`` page moves) — so JavaScript, launch, ``/URI`` of any scheme, ``/GoToR`` and ``/GoToE``
(a UNC path leaks Windows credentials), submit / import / reset-form, media, … — whatever
``#xx`` escapes spell their names (pypdf decodes them), embedded or attached files, rich media
and XFA forms; HTML, SVG or other XML markup tags anywhere in the bytes (HTML/PDF polyglots;
``<x:script>`` too), XMP metadata aside when it holds no HTML element; and files whose streams
expand to more than ``PO_DECOMPRESSED_MAX_BYTES``, or more than ``PO_DECOMPRESSION_RATIO_MAX``
times the file's size (compression bombs), which are decompressed with a cap, never in full.
"""

from __future__ import annotations

import io
import logging
import re
import zlib

from django.conf import settings
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

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
# Actions by name: the named ones say what they are; any other but navigation is refused too.
FORBIDDEN_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "a launch action",
    "/SubmitForm": "a form-submit action",
    "/ImportData": "an import action",
    "/ResetForm": "a form-reset action",
    "/GoToE": "an embedded-file action",
    "/GoToR": "a link to another file",
    "/URI": "a web link",
    "/RichMediaExecute": "rich media",
    "/Rendition": "a media action",
}
# Plain navigation within the document: the only actions a PO may carry.
ALLOWED_ACTIONS = {"/GoTo"}
ALLOWED_NAMED = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
# Keys whose value is an action (or, for /AA, a dictionary of actions).
ACTION_KEYS = {"/A", "/OpenAction", "/Next", "/PA"}
FORBIDDEN_SUBTYPES = {"/FileAttachment": "an attached file", "/RichMedia": "rich media"}
# An HTML or XML tag: "<", a name (with a namespace prefix or not), then a space, "/" or ">".
# A PDF's own "<" opens a dictionary ("<<") or a hex string ("<48656C6C6F>", only hex digits),
# so a name that is all hex digits up to the ">" is not taken for a tag.
TAG = re.compile(rb"<[/!?]?([A-Za-z][\w.-]*(?::[A-Za-z][\w.-]*)?)(?=[\s/>])([^<>]{0,200})>?")
HEX = re.compile(rb"[0-9A-Fa-f\s]*")
# HTML elements (on the local name: <x:script> too), looked for inside streams, XMP included.
HTML_IN_STREAM = re.compile(
    rb"<\s*/?\s*(?:[\w.-]+:)?(script|html|body|head|svg|iframe|frame|img|image|meta|object|"
    rb"embed|link|style|base|form|input|math|template|!doctype)\b", re.IGNORECASE)
MAX_OBJECTS = 200_000
# Filters whose output we never need: image codecs (counted at their stored size).
IMAGE_FILTERS = {"/DCTDecode", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode"}


class PdfRefused(Exception):
    pass


def _resolve(value):
    return value.get_object() if isinstance(value, IndirectObject) else value


def _check_action(action, found: set[str]) -> None:
    """``action`` is where an action must be: anything but in-document navigation is refused."""
    action = _resolve(action)
    if isinstance(action, ArrayObject):  # /Next may be an array of actions
        for item in action:
            _check_action(item, found)
        return
    if not isinstance(action, DictionaryObject):
        return
    kind = _resolve(action.get("/S"))
    if kind in ALLOWED_ACTIONS:
        return
    if kind == "/Named" and _resolve(action.get("/N")) in ALLOWED_NAMED:
        return
    found.add(FORBIDDEN_ACTIONS.get(kind, f"an action other than navigation ({kind})"))


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
            if _resolve(item.get("/Type")) == "/Action":
                _check_action(item, found)
            for key, child in item.items():
                if key in FORBIDDEN_KEYS:
                    found.add(FORBIDDEN_KEYS[key])
                if key in {"/URI", "/GoToR"}:  # a link's target, wherever it is
                    found.add(FORBIDDEN_ACTIONS[key])
                if key == "/S" and child in FORBIDDEN_ACTIONS:
                    found.add(FORBIDDEN_ACTIONS[child])
                if key in ACTION_KEYS:
                    _check_action(child, found)
                if key == "/AA":
                    triggers = _resolve(child)
                    if isinstance(triggers, DictionaryObject):
                        for trigger in triggers.values():
                            _check_action(trigger, found)
                if key == "/Subtype" and child in FORBIDDEN_SUBTYPES:
                    found.add(FORBIDDEN_SUBTYPES[child])
                stack.append(child)
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _markup_problem(data: bytes, streams: list[tuple[bytes, bool]]) -> str | None:
    """Markup in the file's bytes. Outside streams, any tag is refused; a stream's bytes are
    binary (compressed data, images) where "<" and a letter come by chance, so in them only an
    HTML element's name is (the one-letter <a> aside), and in XMP metadata (XML by definition)
    only HTML elements."""
    for raw, _is_xmp in streams:
        if HTML_IN_STREAM.search(raw):
            return MARKUP_REFUSED
        data = data.replace(raw, b" ")
    for match in TAG.finditer(data):
        name, rest = match.group(1), match.group(2)
        if HEX.fullmatch(name + rest) and match.group(0).endswith(b">"):
            continue  # a hex string
        if match.group(0).startswith(b"</") and data[match.start() - 1:match.start()] == b"<":
            continue  # a dictionary: "<</Filter …"
        return MARKUP_REFUSED
    return None


MARKUP_REFUSED = ("it contains HTML or SVG markup or other XML tags (a PDF must not double as a "
                  "web page)")


def _filters(stream) -> list:
    filters = _resolve(stream.get("/Filter"))
    if filters is None:
        return []
    if isinstance(filters, ArrayObject):
        return [_resolve(f) for f in filters]
    return [filters]


def _decoded_size(stream: StreamObject, budget: int) -> int:
    """How many bytes ``stream`` expands to, counting at most ``budget`` + 1 of them."""
    raw = stream._data or b""
    filters = _filters(stream)
    if not filters or filters[0] in IMAGE_FILTERS:
        return len(raw)
    if filters[0] == "/FlateDecode" and len(filters) == 1:
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(raw, budget + 1)
        except zlib.error:
            return len(raw)  # pypdf reads what it can; nothing more to count
        return len(out)
    try:
        return len(stream.get_data())
    except Exception:  # noqa: BLE001 - a damaged stream: pypdf read what it could
        return len(raw)


def _decompression_problem(reader: PdfReader, file_size: int) -> str | None:
    limit = settings.PO_DECOMPRESSED_MAX_BYTES
    ratio_limit = settings.PO_DECOMPRESSION_RATIO_MAX
    ratio_cap = max(file_size * ratio_limit, 1024 * 1024)
    total = 0
    for generation, objects in reader.xref.items():
        for number in objects:
            stream = _resolve(IndirectObject(number, generation, reader))
            if not isinstance(stream, StreamObject):
                continue
            total += _decoded_size(stream, min(limit, ratio_cap) - total)
            if total > limit:
                return (f"it expands to more than {limit / 1024 / 1024:.0f} MB when "
                        "decompressed (a compression bomb)")
            if total > ratio_cap:
                return (f"it expands to more than {ratio_limit} times its size when "
                        "decompressed (a compression bomb)")
    return None


def _stream_bytes(reader: PdfReader) -> list[tuple[bytes, bool]]:
    """The stored bytes of every stream long enough to matter, and whether it is XMP metadata."""
    found = []
    for generation, objects in reader.xref.items():
        for number in objects:
            stream = _resolve(IndirectObject(number, generation, reader))
            if isinstance(stream, StreamObject) and len(stream._data or b"") >= 16:
                found.append((stream._data, _resolve(stream.get("/Type")) == "/Metadata"))
    return found


def po_pdf_problem(data: bytes) -> str | None:
    """Why ``data`` is refused as a PO upload, or None when it is a plain PDF."""
    if not data.startswith(b"%PDF-"):
        return "it is not a PDF file"
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return "it is encrypted, so it cannot be checked"
        problem = _markup_problem(data, _stream_bytes(reader))
        if problem:
            return problem
        problem = _decompression_problem(reader, len(data))
        if problem:
            return problem
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
        return _markup_problem(data, []) or "it cannot be read as a PDF"
    if found:
        return "it contains " + ", ".join(sorted(found))
    return None
