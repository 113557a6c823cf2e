"""The events list table (sortable; pagination by RequestConfig; rows built in Python)."""

from html import escape

import django_tables2 as tables

from core.formatting import status_badge
from core.tables import FastBodyTable, link_pattern
from events.models import Event

# On a phone the list shows name, date and status; the rest from the md breakpoint up.
WIDE = {"th": {"class": "d-none d-md-table-cell"}, "td": {"class": "d-none d-md-table-cell"}}


class EventTable(FastBodyTable):
    name = tables.Column(
        order_by=("name", "pk"), attrs={"th": {"class": "wrap"}, "td": {"class": "wrap"}},
    )
    # Every sort ends with the id, so that pages neither overlap nor skip events that tie.
    event_type = tables.Column(verbose_name="Event Type", order_by=("event_type", "pk"),
                               attrs=WIDE)
    date = tables.DateColumn(format="Y-m-d", order_by=("date", "pk"))
    facility = tables.Column(order_by=("facility__name", "pk"), attrs=WIDE)
    representative = tables.Column(
        order_by=("representative__first_name", "representative__last_name", "pk"), attrs=WIDE
    )
    status = tables.Column(order_by=("status", "pk"))
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
        template_name = "partials/fast_table.html"

    def cells(self):
        link = link_pattern("events:detail")

        def text(value) -> str:
            return escape(str(value)) if value not in (None, "") else "—"

        return {
            "name": lambda e: f'<a href="{link.format(e.pk)}">{escape(e.name)}</a>',
            "event_type": lambda e: escape(e.get_event_type_display()),
            "date": lambda e: f"{e.date:%Y-%m-%d}",
            "facility": lambda e: text(e.facility),
            "representative": lambda e: text(e.representative),
            "status": status_badge,
            "sales_order": lambda e: text(getattr(getattr(e, "sales_order", None), "number",
                                                  None)),
        }
