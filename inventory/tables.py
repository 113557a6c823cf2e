"""All Inventory table (django-tables2): sortable columns, one row per device."""

import django_tables2 as tables
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from core.formatting import status_badge as _status_badge
from inventory.models import Device
from inventory.selectors import JOINED_ORDERS, device_page_by_joined_column


def status_badge(device: Device) -> str:
    badge = _status_badge(device)
    if device.pending_transfer_id:
        badge += format_html(
            ' <span class="badge text-bg-warning" title="Transfer #{} to {}">In transit</span>',
            device.pending_transfer_id, device.pending_transfer.to_custodian,
        )
    return badge


class DeviceTable(tables.Table):
    serial = tables.Column(
        verbose_name="Serial", order_by=("serial", "pk"), attrs={"td": {"class": "fw-semibold"}}
    )
    reference = tables.Column(
        accessor="product__reference", verbose_name="Reference",
        order_by=JOINED_ORDERS["reference"].order_by,
    )
    description = tables.Column(
        accessor="product__description", verbose_name="Description",
        order_by=JOINED_ORDERS["description"].order_by,
        attrs={"th": {"class": "d-none d-md-table-cell"},
               "td": {"class": "wrap d-none d-md-table-cell"}},
    )
    lot = tables.Column(verbose_name="Lot", order_by=("lot", "serial"))
    expiration_date = tables.DateColumn(
        verbose_name="Expiry", format="Y-m-d", order_by=("expiration_date", "pk")
    )
    status = tables.Column(verbose_name="Status", order_by=("status", "pk"))
    custodian = tables.Column(
        verbose_name="Custodian", order_by=JOINED_ORDERS["custodian"].order_by,
        default="—",
    )
    facility = tables.Column(verbose_name="Facility", order_by=JOINED_ORDERS["facility"].order_by,
                             default="—")

    class Meta:
        model = Device
        fields = ()
        sequence = ("serial", "reference", "description", "lot", "expiration_date", "status",
                    "custodian", "facility")
        # table-stack: one card per device on a phone, each cell labelled (static/css/app.css).
        attrs = {"class": "table table-sm table-striped align-middle table-stack",
                 "data-testid": "devices"}
        empty_text = "No devices match these filters."
        order_by = ("expiration_date",)
        template_name = "inventory/_device_table.html"

    def body_html(self) -> str:
        """The page's rows as HTML, built in Python: the same cells django-tables2 renders
        (the render_* methods below), without its per-cell machinery (several times the
        page's SQL time at 50–200 rows)."""
        columns = []
        for column in self.columns:
            render = getattr(self, f"render_{column.name}", None)
            columns.append((column.accessor, render, column.default,
                            flatatt(column.attrs.get("td", {}))))
        rows = []
        for record in self.page.object_list.data if hasattr(
                self.page.object_list, "data") else self.page.object_list:
            cells = []
            for accessor, render, default, td in columns:
                value = accessor.resolve(record, quiet=True)
                if value in (None, ""):
                    cell = conditional_escape(default) if default is not None else ""
                    if render is not None and accessor == "serial":
                        cell = render(value=value, record=record)
                elif render is not None:
                    cell = conditional_escape(render(value=value, record=record))
                else:
                    cell = conditional_escape(value)
                cells.append(f"<td{td}>{cell}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return mark_safe("".join(rows))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for bound in self.columns:
            td = dict(bound.column.attrs.get("td", {}))
            td["data-label"] = str(bound.header)
            bound.column.attrs = {**bound.column.attrs, "td": td}

    def render_serial(self, value, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("inventory:device_detail", args=[record.pk]),
            value or f"lot {record.lot} #{record.pk}",
        )

    def render_expiration_date(self, value, record):
        if record.is_active and record.is_expired():
            return format_html(
                '{} <span class="badge text-bg-danger">Expired</span>', f"{value:%Y-%m-%d}"
            )
        return f"{value:%Y-%m-%d}"

    def render_status(self, value, record):
        return status_badge(record)


MAX_PER_PAGE = 200
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """All Inventory's pages: ``per_page`` at most 200, and a count that stops at 10,000.

    Counting every matching device of a large organisation on each page view is the slowest
    part of the page; above the cap the page says "more than 10,000" and lists the first
    10,000 (narrow the filters or export CSV for the rest).

    With ``user``, a list above the cap sorted by another table's column (custodian, product,
    facility) reads its page by walking that table in order (``device_page_by_joined_column``)
    instead of sorting every matching device; at or below the cap the sort is cheap.
    """

    def __init__(self, object_list, per_page, *args, user=None, **kwargs):
        per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        self.user = user
        super().__init__(object_list, per_page, *args, **kwargs)

    @property
    def queryset(self):
        rows = self.object_list
        # django-tables2 hands over its BoundRows: the queryset is underneath.
        return getattr(getattr(rows, "data", None), "data", rows)

    @cached_property
    def matching(self) -> int:
        """How many rows match, counted up to COUNT_CAP + 1."""
        queryset = self.queryset
        if isinstance(queryset, QuerySet):
            return queryset.order_by()[:COUNT_CAP + 1].count()
        return len(self.object_list)

    def page(self, number):
        queryset = self.queryset
        if self.user is not None and isinstance(queryset, QuerySet) and self.capped:
            number = self.validate_number(number)
            bottom = (number - 1) * self.per_page
            top = min(bottom + self.per_page, self.count)
            rows = device_page_by_joined_column(queryset, user=self.user, offset=bottom,
                                                limit=top - bottom)
            if rows is not None:
                return self._get_page(rows, number, self)
        return super().page(number)

    @property
    def capped(self) -> bool:
        return self.matching > COUNT_CAP

    @cached_property
    def count(self) -> int:
        return min(self.matching, COUNT_CAP)
