"""WeasyPrint rendering whose URL fetcher may read our own static files and nothing else."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

PDF_CSS = """
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

STATIC_DIRS = [Path(d).resolve() for d in settings.STATICFILES_DIRS]


class StaticFilesOnlyFetcher(URLFetcher):
    """Serves ``file://`` URLs inside our static directories; refuses everything else
    (http, https, data, other files), so a template can't make the server fetch anything."""

    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        if parsed.scheme != "file":
            raise ValueError(f"PDF rendering may not fetch {url}")
        path = Path(unquote(parsed.path)).resolve()
        if not any(path.is_relative_to(root) for root in STATIC_DIRS) or not path.is_file():
            raise ValueError(f"PDF rendering may not fetch {url}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def render_pdf(html: str) -> bytes:
    base_url = STATIC_DIRS[0].as_uri() + "/"
    fetcher = StaticFilesOnlyFetcher()
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf(
        stylesheets=[CSS(string=PDF_CSS, url_fetcher=fetcher)]
    )
