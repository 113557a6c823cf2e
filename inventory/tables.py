"""All Inventory table (django-tables2, rows built by core.tables.FastBodyTable): sortable
columns, one row per device."""

from html import escape

import django_tables2 as tables
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from core.formatting import status_badge as _status_badge
from core.tables import BoundedPaginator, FastBodyTable, link_pattern
from inventory.models import Device
from inventory.selectors import (
    JOINED_ORDERS,
    device_page_by_joined_column,
    device_rows,
    nulls_as_postgresql,
)


def in_transit_badge(transfer_id: int, to_custodian) -> str:
    return format_html(
        ' <span class="badge text-bg-warning" title="Transfer #{} to {}">In transit</span>',
        transfer_id, to_custodian,
    )


def status_badge(device: Device) -> str:
    badge = _status_badge(device)
    if device.pending_transfer_id:
        badge += in_transit_badge(device.pending_transfer_id, device.pending_transfer.to_custodian)
    return badge


class NullsLastColumn(tables.Column):
    """A column whose sort (``order_by``) says where NULLs go, last ascending and first
    descending, as PostgreSQL does: lot-tracked units (no serial), facility stock (no custodian),
    rep stock (no facility). ``device_page_by_joined_column`` recognises a joined sort by these
    expressions."""

    def order(self, queryset, is_descending):
        order = nulls_as_postgresql(self.order_by, descending=is_descending)
        return queryset.order_by(*order), True


class DeviceTable(FastBodyTable):
    serial = NullsLastColumn(
        verbose_name="Serial", order_by=("serial", "pk"), attrs={"td": {"class": "fw-semibold"}}
    )
    reference = NullsLastColumn(
        accessor="product__reference", verbose_name="Reference",
        order_by=JOINED_ORDERS["reference"].order_by,
    )
    description = NullsLastColumn(
        accessor="product__description", verbose_name="Description",
        order_by=JOINED_ORDERS["description"].order_by,
        attrs={"td": {"class": "wrap"}},  # on a phone too: "KT-00209" alone says little
    )
    # Every sort ends with the id: devices that tie never overlap or skip between pages.
    lot = NullsLastColumn(verbose_name="Lot", order_by=("lot", "serial", "pk"))
    expiration_date = tables.DateColumn(
        verbose_name="Expiry", format="Y-m-d", order_by=("expiration_date", "pk")
    )
    status = tables.Column(verbose_name="Status", order_by=("status", "pk"))
    custodian = NullsLastColumn(verbose_name="Custodian", default="—",
                                order_by=JOINED_ORDERS["custodian"].order_by)
    facility = NullsLastColumn(verbose_name="Facility", default="—",
                               order_by=JOINED_ORDERS["facility"].order_by)

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
        template_name = "partials/fast_table.html"

    def cells(self):
        """Each cell from a ``DeviceRow`` (one query, three joins: no model instance per row).
        Empty cells show "—"."""
        today = timezone.localdate()
        link = link_pattern("inventory:device_detail")
        return {
            "serial": lambda r: f'<a href="{link.format(r.pk)}">'
                                f'{escape(r.serial or f"lot {r.lot} #{r.pk}")}</a>',
            "reference": lambda r: escape(r.reference) if r.reference else "—",
            "description": lambda r: escape(r.description) if r.description else "—",
            "lot": lambda r: escape(r.lot) if r.lot else "—",
            "expiration_date": lambda r: (
                f'{r.expiration_date:%Y-%m-%d} <span class="badge text-bg-danger">Expired</span>'
                if r.is_active and r.expiration_date < today else f"{r.expiration_date:%Y-%m-%d}"),
            "status": lambda r: _status_badge(r) + (
                in_transit_badge(r.pending_transfer_id, r.transfer_to)
                if r.pending_transfer_id else ""),
            "custodian": lambda r: escape(r.custodian) if r.custodian else "—",
            "facility": lambda r: escape(r.facility) if r.facility else "—",
        }

    def page_rows(self, object_list):
        """The page holds ``DeviceRow``s, read once, whatever asks for them (the rows, and the
        template's ``table.page`` truth test, which would otherwise evaluate the queryset)."""
        data = getattr(object_list, "data", object_list)
        return data if isinstance(data, list) else device_rows(data)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for bound in self.columns:
            td = dict(bound.column.attrs.get("td", {}))
            td["data-label"] = str(bound.header)
            bound.column.attrs = {**bound.column.attrs, "td": td}


COUNT_CAP = 10_000


class CappedPaginator(BoundedPaginator):
    """All Inventory's pages: ``per_page`` at most 200 (``BoundedPaginator``), and a count that
    stops at 10,000.

    Counting every matching device of a large organisation on each page view is the slowest
    part of the page; above the cap the page says "more than 10,000" and lists the first
    10,000 (narrow the filters or export CSV for the rest).

    With ``user``, a list above the cap sorted by another table's column (custodian, product,
    facility) reads its page by walking that table in order (``device_page_by_joined_column``)
    instead of sorting every matching device; at or below the cap the sort is cheap.
    """

    def __init__(self, object_list, per_page, *args, user=None, **kwargs):
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
