"""PO uploads (billing.po_checks): every action but navigation within the document, any markup
tag, and compression bombs are refused; ordinary PDFs (ours, WeasyPrint's) still pass."""

from __future__ import annotations

import io
import zlib

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from billing.po_checks import po_pdf_problem
from tests.factories import blank_pdf


def action(kind: str, **entries) -> DictionaryObject:
    return DictionaryObject({
        NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind),
        **{NameObject(k): v for k, v in entries.items()},
    })


def pdf_with_link(target: DictionaryObject, *, typed: bool = True) -> bytes:
    """A page with a link annotation whose action is ``target``."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=200, height=200)
    if not typed:
        del target[NameObject("/Type")]
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(50),
                                          NumberObject(50)]),
        NameObject("/A"): target,
    })
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


UNC = TextStringObject("\\\\attacker.example\\share\\po.pdf")


@pytest.mark.parametrize("data, reason", [
    (blank_pdf(**{"/OpenAction": action("/GoToR", **{"/F": UNC, "/D": ArrayObject([])})}),
     "a link to another file"),
    (pdf_with_link(action("/GoToR", **{"/F": UNC})), "a link to another file"),
    (pdf_with_link(action("/URI", **{"/URI": TextStringObject("javascript:alert(1)")})),
     "a web link"),
    (pdf_with_link(action("/URI", **{"/URI": TextStringObject("https://example.com/")}),
                   typed=False), "a web link"),
    (pdf_with_link(action("/Launch", **{"/F": TextStringObject("cmd.exe")}), typed=False),
     "a launch action"),
    (pdf_with_link(action("/ImportData", **{"/F": TextStringObject("x.fdf")})),
     "an import action"),
    (pdf_with_link(action("/GoToE", **{"/D": ArrayObject([])}), typed=False),
     "an embedded-file action"),
    (pdf_with_link(action("/SetOCGState")), "an action other than navigation (/SetOCGState)"),
    (pdf_with_link(action("/Hide", **{"/T": TextStringObject("x")}), typed=False),
     "an action other than navigation (/Hide)"),
    (blank_pdf(**{"/AA": DictionaryObject({NameObject("/WC"): action("/SubmitForm")})}),
     "a form-submit action"),
    (blank_pdf(**{"/OpenAction": action("/GoTo", **{"/Next": action("/JavaScript")})}),
     "JavaScript"),
    (blank_pdf(**{"/OpenAction": action("/Named", **{"/N": NameObject("/Print")})}),
     "an action other than navigation (/Named)"),
])
def test_every_action_but_navigation_is_refused(data, reason):
    problem = po_pdf_problem(data)
    assert problem is not None and reason in problem, problem


@pytest.mark.parametrize("name, spelled, reason", [
    (b"/JavaScript", b"/J#61vaScript", "JavaScript"),
    (b"/Launch", b"/L#61unch", "a launch action"),
    (b"/GoToR", b"/GoT#6fR", "a link to another file"),
    (b"/URI", b"/UR#49", "a web link"),
])
def test_names_hidden_with_hex_escapes_are_refused(name, spelled, reason):
    kinds = {b"/JavaScript": action("/JavaScript", **{"/JS": TextStringObject("app.alert(1)")}),
             b"/Launch": action("/Launch", **{"/F": TextStringObject("calc.exe")}),
             b"/GoToR": action("/GoToR", **{"/F": UNC}),
             b"/URI": action("/URI", **{"/URI": TextStringObject("https://example.com")})}
    data = blank_pdf(**{"/OpenAction": kinds[name]})
    hidden = data.replace(name, spelled)
    assert name not in hidden.split(b"/OpenAction")[1][:200]  # the raw bytes hide it
    problem = po_pdf_problem(hidden)
    assert problem is not None and reason in problem, problem


PLAIN = blank_pdf()


@pytest.mark.parametrize("markup", [
    b"<img src=x onerror=alert(document.domain)>",
    b'<meta http-equiv="refresh" content="0;url=https://attacker.example/">',
    b'<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>',
    b"<SCRIPT>alert(1)</SCRIPT>",
    b"<a href='https://attacker.example/'>pay here</a>",
    b'<?xml version="1.0"?><foo/>',
    b"<iframe src=//attacker.example>",
])
def test_markup_tags_anywhere_are_refused(markup):
    data = PLAIN[:9] + b"%" + markup + b"\n" + PLAIN[9:]
    problem = po_pdf_problem(data)
    assert problem is not None and "HTML or SVG markup" in problem, problem
    if markup.startswith((b"<a ", b"<?xml")):
        return  # in a stream's binary bytes only HTML elements' names are looked for
    # Inside a stream (uncompressed) too.
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    stream = StreamObject()
    stream.set_data(b"% " + markup + b" padding padding")
    writer._root_object[NameObject("/Extra")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    problem = po_pdf_problem(buffer.getvalue())
    assert problem is not None and "HTML or SVG markup" in problem, (markup, problem)


def bomb(decoded_bytes: int) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    stream = StreamObject()
    stream._data = zlib.compress(b"\0" * decoded_bytes, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer._root_object[NameObject("/Bomb")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_a_compression_bomb_is_refused_with_a_message():
    data = bomb(20 * 1024 * 1024)
    assert len(data) < 40 * 1024  # ~20 kB on disk
    problem = po_pdf_problem(data)
    assert problem is not None and "compression bomb" in problem, problem


def test_an_absolute_cap_on_decompressed_size(settings):
    settings.PO_DECOMPRESSED_MAX_BYTES = 1024 * 1024
    settings.PO_DECOMPRESSION_RATIO_MAX = 10_000
    problem = po_pdf_problem(bomb(2 * 1024 * 1024))
    assert problem is not None and "more than 1 MB when decompressed" in problem


def test_plain_pdfs_still_pass():
    assert po_pdf_problem(PLAIN) is None
    # Navigation within the document is allowed.
    assert po_pdf_problem(blank_pdf(**{"/OpenAction": action(
        "/GoTo", **{"/D": ArrayObject([NumberObject(0), NameObject("/Fit")])})})) is None
    assert po_pdf_problem(blank_pdf(**{"/OpenAction": action(
        "/Named", **{"/N": NameObject("/NextPage")})})) is None
    # Hex strings are not tags.
    assert po_pdf_problem(blank_pdf(**{"/Hex": TextStringObject("\u20ac uro")})) is None
    # A modest compressed stream is fine.
    assert po_pdf_problem(bomb(200 * 1024)) is None


def test_a_weasyprint_pdf_with_text_images_and_metadata_passes():
    from weasyprint import HTML

    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU"
           "5ErkJggg==")
    html = ("<html><head><title>PO 4471</title><meta name=author content='Buyer'></head><body>"
            "<h1>Purchase order 4471</h1><p>" + "Pedicle screw 6.5 × 45 mm, qty 4. " * 400 +
            f"</p><img src='data:image/png;base64,{png}' width=100></body></html>")
    data = HTML(string=html).write_pdf()
    assert po_pdf_problem(data) is None
