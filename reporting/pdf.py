"""WeasyPrint rendering whose URL fetcher may read our own static files and nothing else."""

from __future__ import annotations

from accounts.pdf import html_to_pdf

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

def render_pdf(html: str) -> bytes:
    """A report page as PDF; like every PDF here it may read our static files and nothing else."""
    return html_to_pdf(html, css=PDF_CSS)
