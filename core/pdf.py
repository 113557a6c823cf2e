"""WeasyPrint rendering that may read our own static files and nothing else.

Relative URLs in PDF templates (``/static/...``) resolve against ``PDF_BASE_URL``; nothing is
served there: ``StaticOnlyURLFetcher`` maps it onto our static files — the collected files of the
static files storage (with DEBUG off ``{% static %}`` names them by their hashed manifest names,
``css/pdf.3f2a….css``), else the source files the staticfiles finders know (development) — and
refuses every other URL (http, https, file:, data:, paths from data) without opening it. So a
document renders the same with DEBUG on and off.

Every render of a thread uses that thread's one WeasyPrint ``FontConfiguration`` (``font_config``).
Without one, WeasyPrint makes a new configuration per document: fontconfig loads and scans the
system's fonts again and Pango builds a new font map, and that native memory is never all given
back (~240 KiB a render, invisible to tracemalloc): the worker grew ~2 MiB a minute in the soak
(docs/benchmarks.md "Soak"). One per thread, because Pango and fontconfig objects are not to be
shared between threads; a process has a fixed number of threads, so memory is bounded.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

PDF_BASE_URL = "https://fieldstock.invalid/"

CONTENT_TYPES = {
    ".css": "text/css", ".ttf": "font/ttf", ".woff2": "font/woff2", ".png": "image/png",
    ".svg": "image/svg+xml",
}


class StaticOnlyURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that reads only our own static files.

    ``requested`` records every URL WeasyPrint asked for, ``refused`` the ones turned down (tests
    spy on both).
    """

    def __init__(self):
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.requested: list[str] = []
        self.refused: list[str] = []

    def static_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        base = urlsplit(PDF_BASE_URL)
        prefix = "/" + settings.STATIC_URL.strip("/") + "/"
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        if parts.query or not parts.path.startswith(prefix):
            return None
        relative = unquote(parts.path[len(prefix):])
        if not relative or ".." in relative.split("/") or "\\" in relative:
            return None
        found = finders.find(relative)
        if found:
            return Path(found)
        try:  # a collected file, e.g. a hashed manifest name
            collected = Path(staticfiles_storage.path(relative))
        except (NotImplementedError, SuspiciousFileOperation):
            return None
        return collected if collected.is_file() else None

    def fetch(self, url, headers=None):
        self.requested.append(url)
        path = self.static_path(url)
        if path is None:
            self.refused.append(url)
            raise ValueError(f"PDF rendering may only read our static files, not {url[:80]!r}")
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def render_pdf(template_name: str, context: dict, *, css: str | None = None,
               url_fetcher=None) -> bytes:
    """The one way to make a PDF: render ``template_name`` with ``context`` and lay it out (with
    an optional extra stylesheet, e.g. ``REPORT_CSS``). Like every PDF here it may read our static
    files and nothing else."""
    return _html_to_pdf(render_to_string(template_name, context), css=css,
                        url_fetcher=url_fetcher)


_fonts = threading.local()


def font_config() -> FontConfiguration:
    """This thread's WeasyPrint font configuration, made once (see the module's docstring)."""
    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
    return config


def _html_to_pdf(html: str, *, css: str | None = None, url_fetcher=None) -> bytes:
    fetcher = url_fetcher or StaticOnlyURLFetcher()
    fonts = font_config()
    stylesheets = [
        CSS(string=css, url_fetcher=fetcher, base_url=PDF_BASE_URL, font_config=fonts)
    ] if css else None
    return HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=fetcher).write_pdf(
        stylesheets=stylesheets, font_config=fonts
    )


# Reports (commission statement): landscape A4, page numbers, totals once at the end.
REPORT_CSS = """
  @page {
    size: A4 landscape; margin: 14mm;
    @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; }
  }
  body { font-family: sans-serif; font-size: 9pt; color: #222; }
  h1 { font-size: 15pt; margin: 0 0 2mm; }
  p.meta { margin: 0 0 5mm; color: #555; }
  table { width: 100%; border-collapse: collapse; }
  th, td { border-bottom: 0.5pt solid #ccc; padding: 1.5mm 2mm; text-align: left; }
  .num { text-align: right; }
  tfoot th, tfoot td { border-bottom: none; }
  .fw-bold { font-weight: bold; }
  tfoot { display: table-row-group; }  /* totals once, at the end */
  tr { break-inside: avoid; }
"""

