"""All Inventory table (django-tables2): sortable columns, one row per device."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from accounts.formatting import status_badge as _status_badge
from inventory.models import Device


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
        order_by=("product__reference", "serial"),
    )
    description = tables.Column(
        accessor="product__description", verbose_name="Description",
        order_by=("product__description",),
        attrs={"th": {"class": "d-none d-md-table-cell"},
               "td": {"class": "wrap d-none d-md-table-cell"}},
    )
    lot = tables.Column(verbose_name="Lot", order_by=("lot", "serial"))
    expiration_date = tables.DateColumn(
        verbose_name="Expiry", format="Y-m-d", order_by=("expiration_date", "pk")
    )
    status = tables.Column(verbose_name="Status", order_by=("status", "pk"))
    custodian = tables.Column(
        verbose_name="Custodian", order_by=("custodian__first_name", "custodian__username"),
        default="—",
    )
    facility = tables.Column(verbose_name="Facility", order_by=("facility__name",), default="—")

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
