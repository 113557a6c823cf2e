"""The events list table (sortable; pagination by RequestConfig)."""

import django_tables2 as tables

from core.formatting import status_badge
from events.models import Event

# On a phone the list shows name, date and status; the rest from the md breakpoint up.
WIDE = {"th": {"class": "d-none d-md-table-cell"}, "td": {"class": "d-none d-md-table-cell"}}


class EventTable(tables.Table):
    name = tables.Column(
        linkify=("events:detail", {"pk": tables.A("pk")}),
        attrs={"th": {"class": "wrap"}, "td": {"class": "wrap"}},
    )
    event_type = tables.Column(verbose_name="Event Type", attrs=WIDE)
    date = tables.DateColumn(format="Y-m-d")
    facility = tables.Column(order_by=("facility__name",), attrs=WIDE)
    representative = tables.Column(
        order_by=("representative__first_name", "representative__last_name"), attrs=WIDE
    )
    status = tables.Column()
    sales_order = tables.Column(
        verbose_name="Sales order", accessor="sales_order__number", orderable=False, default="—",
        attrs=WIDE,
    )

    class Meta:
        model = Event
        fields = ("name", "event_type", "date", "facility", "representative", "status")
        sequence = ("name", "event_type", "date", "facility", "representative", "status",
                    "sales_order")
        order_by = ("-date",)
        attrs = {
            "class": "table table-sm table-striped align-middle", "data-testid": "events-table"
        }
        empty_text = "No events yet."

    def render_status(self, record, value):
        return status_badge(record)
