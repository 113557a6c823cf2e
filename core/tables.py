"""django-tables2 tables whose rows are built in Python.

django-tables2 renders each cell through its column machinery (accessor resolution, signature
inspection of ``render_*``, a template variable per cell): at 25–200 rows that costs several
times the page's SQL. A ``FastBodyTable`` keeps django-tables2's header, sorting and pager but
builds its ``<tbody>`` from ``cells()``: one function per column, from a row to its HTML.
Its template (a subclass's ``Meta.template_name = "partials/fast_table.html"``) renders
``table.body_html``.
"""

from __future__ import annotations

from collections.abc import Callable

import django_tables2 as tables
from django.core.paginator import Paginator
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

_PK = 987654321  # a placeholder id

MAX_PER_PAGE = 200


class BoundedPaginator(Paginator):
    """A table's paginator: the ``per_page`` a request asks for (django-tables2 reads it from
    ``?per_page=``) is kept between 1 and 200, so no URL lists a whole organisation on one page
    or breaks the pager with a negative size."""

    def __init__(self, object_list, per_page, *args, **kwargs):
        super().__init__(object_list, max(1, min(int(per_page), MAX_PER_PAGE)), *args, **kwargs)


def link_pattern(viewname: str) -> str:
    """The URL of ``viewname`` for any pk, reversed once per table: ``.format(pk)``."""
    return reverse(viewname, args=[_PK]).replace(str(_PK), "{}")


class FastBodyTable(tables.Table):
    def cells(self) -> dict[str, Callable[[object], str]]:
        """Column name → the cell's HTML (escaped) for one row of ``self.page.object_list``."""
        raise NotImplementedError

    def page_rows(self, object_list):
        """The rows a page holds, from the paginator's slice: a subclass may read them another
        way (e.g. as values). Applied to every page set on the table, including django-tables2's
        fallback to the last page when the page asked for does not exist."""
        return object_list

    @property
    def page(self):
        return self._page  # AttributeError until paginated, as django-tables2 expects

    @page.setter
    def page(self, page):
        page.object_list = self.page_rows(page.object_list)
        self._page = page

    def body_html(self) -> SafeString:
        cells = self.cells()
        columns = [(cells[column.name], flatatt(column.attrs.get("td", {})))
                   for column in self.columns]
        rows = self.page.object_list  # django-tables2's BoundRows over the records, or a list
        rows = getattr(rows, "data", rows)
        return mark_safe("".join(
            "<tr>" + "".join(f"<td{td}>{cell(row)}</td>" for cell, td in columns) + "</tr>"
            for row in rows
        ))
