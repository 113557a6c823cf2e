"""django-tables2 tables whose rows are built in Python.

django-tables2 renders each cell through its column machinery (accessor resolution, signature
inspection of ``render_*``, a template variable per cell): at 25–200 rows that costs several
times the page's SQL. A ``FastBodyTable`` keeps django-tables2's columns, sorting and
pagination but writes its HTML in Python: the ``<tbody>`` from ``cells()`` (one function per
column, from a row to its HTML), the header and the pager as django-tables2's
``bootstrap5-responsive.html`` writes them (the same elements, attributes and links, without
its whitespace; about twenty ``querystring_replace`` tags a page otherwise).
Its template (a subclass's ``Meta.template_name = "partials/fast_table.html"``) renders
``table.html``.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable

import django_tables2 as tables
from django.core.paginator import Paginator
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import conditional_escape, escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django_tables2.templatetags.django_tables2 import table_page_range
from django_tables2.utils import AttributeDict

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


class _ColumnsCopiedShallow(OrderedDict):
    """A table class's columns. django-tables2 deep-copies them for every table (each column's
    accessor, attributes and transforms: some 400 objects a table, 0.4 ms of All Inventory's
    time); a fast table copies each column itself, its ``attrs`` dict included. Nothing of ours
    changes a column's nested values in place (a table replaces a column's ``attrs``)."""

    def __deepcopy__(self, memo):
        copies = OrderedDict()
        for name, column in self.items():
            copied = copy.copy(column)
            copied.attrs = dict(column.attrs)
            copies[name] = copied
        return copies


class FastBodyTable(tables.Table):
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.base_columns = _ColumnsCopiedShallow(cls.base_columns)

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

    def html(self) -> SafeString:
        """The whole table: what django-tables2's ``bootstrap5-responsive.html`` renders (its
        header, sort links and pager, with the request's other parameters kept), the body from
        ``body_html``."""
        query = dict(self.request.GET) if self.request is not None else {}

        def link(key, value) -> str:  # as django-tables2's {% querystring_replace %}
            return escape("?" + urlencode({**query, key: value}, doseq=True))

        attrs = AttributeDict({"class": "table"})
        attrs.update(self.attrs)
        parts = [f'<div class="table-container table-responsive"><table {attrs.as_html()}>']
        if self.show_header:
            parts.append(f"<thead {_sub_attrs(self.attrs, 'thead')}><tr>")
            sort = self.prefixed_order_by_field
            for column in self.columns:
                header = conditional_escape(column.header)
                if column.orderable:
                    header = f'<a href="{link(sort, column.order_by_alias.next)}">{header}</a>'
                parts.append(f'<th {column.attrs["th"].as_html()} scope="col">{header}</th>')
            parts.append("</tr></thead>")
        body = self.body_html()
        if not body and self.empty_text:
            body = (f'<tr><td colspan="{len(self.columns)}">'
                    f"{conditional_escape(self.empty_text)}</td></tr>")
        parts.append(f"<tbody {_sub_attrs(self.attrs, 'tbody')}>{body}</tbody>")
        if self.has_footer():
            parts.append(f"<tfoot {_sub_attrs(self.attrs, 'tfoot')}><tr>")
            parts.extend(f'<td {column.attrs["tf"].as_html()}>'
                         f"{conditional_escape(column.footer)}</td>" for column in self.columns)
            parts.append("</tr></tfoot>")
        parts.append("</table>")
        page = getattr(self, "page", None)
        if page and self.paginator.num_pages > 1:
            parts.append(self._pager_html(page, link))
        parts.append("</div>")
        return mark_safe("".join(parts))

    def _pager_html(self, page, link) -> str:
        field = self.prefixed_page_field
        parts = ['<nav aria-label="Table navigation"><ul class="pagination '
                 'justify-content-center">']
        if page.has_previous():
            parts.append(f'<li class="previous page-item"><a href="'
                         f'{link(field, page.previous_page_number())}" class="page-link">'
                         '<span aria-hidden="true">&laquo;</span> previous</a></li>')
        if page.has_previous() or page.has_next():
            for number in table_page_range(page, self.paginator):
                active = " active" if page.number == number else ""
                href = f' href="{link(field, number)}"' if number != "..." else " "
                parts.append(f'<li class="page-item{active}"><a class="page-link"{href}>'
                             f"{conditional_escape(number)}</a></li>")
        if page.has_next():
            parts.append(f'<li class="next page-item"><a href="'
                         f'{link(field, page.next_page_number())}" class="page-link">next '
                         '<span aria-hidden="true">&raquo;</span></a></li>')
        parts.append("</ul></nav>")
        return "".join(parts)


def _sub_attrs(attrs, key: str) -> str:
    """``{{ table.attrs.thead.as_html }}`` as the template reads it: "" unless it is set."""
    sub = attrs.get(key)
    return sub.as_html() if isinstance(sub, AttributeDict) else ""
