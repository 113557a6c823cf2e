"""Report scope comes from assignments (``Facility.reps``), never from events a rep created
(issue 22, finding 4): a draft — or a cancelled event — at a facility a rep does not cover shows
them nothing new in any report, CSV, "where used" or replenishment."""

import pytest
from django.urls import reverse

from events.services import event_cancel
from tests.factories import make_event
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("reporting:index")
SALES = reverse("reporting:sales")
USAGE = reverse("reporting:usage")
REPLENISHMENT = reverse("reporting:replenishment")
EXPORTS = [
    (DASHBOARD, ("stock", "low", "expiring", "monthly", "where_used", "commissions")),
    (SALES, ("rep", "facility", "product_line", "month")),
    (USAGE, ("facility", "surgeon", "product", "month", "cover")),
]
# What another rep's activity at St. Mary's would show: the facility, the surgeon of the case,
# the covering rep and the seller.
THEIRS = ("St. Mary", "Dr. Grey", "Sam Cover", "Riley Seller", "Rep case")


def _everything(client, facility_id) -> dict:
    """Every figure a reader is shown: each CSV export, the pages' tables and the replenishment
    of ``facility_id``."""
    seen = {}
    for url, exports in EXPORTS:
        for export in exports:
            response = client.get(url, {"export": export})
            assert response.status_code == 200, (url, export)
            seen[f"{url}?export={export}"] = response.getvalue().decode()
    page = client.get(DASHBOARD).context
    seen["dashboard"] = repr([page["stock"], page["low"], page["stock_on_hand"],
                              [(g["key"], g["count"], [d.pk for d in g["devices"]])
                               for g in page["expiry_groups"]],
                              page["monthly"], [line.pk for line in page["where_used"]],
                              page["commissions"],
                              [f.name for f in page["form"].fields["facility"].queryset]])
    page = client.get(SALES).context
    seen["sales"] = repr([page["groups"], page["totals"]])
    page = client.get(USAGE).context
    seen["usage"] = repr([page["groups"], page["cover"], page["cover_count"]])
    page = client.get(REPLENISHMENT, {"facility": facility_id, "cover_days": 30}).context
    seen["replenishment"] = repr([[(g["line"].pk, g["rows"]) for g in page["groups"]],
                                  [f.name for f in page["form"].fields["facility"].queryset]])
    return seen


def test_a_draft_at_an_unassigned_facility_shows_a_rep_nothing_new(client, shop):
    # St. Mary's has stock below par, expiring stock, a sale, a use and a rep-inventory case.
    shop.par(shop.product, 5)
    sold = shop.receive(3, expires_in_days=20)
    shop.stock(sold)
    shop.use(sold[:1])
    shop.case(shop.receive(1))

    client.force_login(shop.outsider)  # covers nothing, has no events
    before = _everything(client, shop.facility.pk)

    # The outsider opens a draft case at St. Mary's, and a stocking order they cancel.
    make_event(actor=shop.outsider, representative=shop.outsider, facility=shop.facility,
               product_line=shop.line, event_type="case", name="Widening", date=days(0))
    cancelled = make_event(actor=shop.outsider, representative=shop.outsider,
                           facility=shop.facility, product_line=shop.line, name="Void")
    event_cancel(actor=shop.outsider, event=cancelled)

    after = _everything(client, shop.facility.pk)
    assert after == before
    for key, text in after.items():
        for word in THEIRS:
            assert word not in text, (key, word)


def test_assignment_gives_the_scope_and_removing_it_takes_it_away(client, shop):
    shop.par(shop.product, 5)
    devices = shop.receive(2)
    shop.stock(devices)
    shop.use(devices[:1])

    shop.facility.reps.add(shop.outsider)
    client.force_login(shop.outsider)
    page = client.get(DASHBOARD).context
    assert [(r["facility"], r["on_hand"]) for r in page["stock"]] == [("St. Mary's", 1)]
    assert [line.event.surgeon for line in page["where_used"]] == ["Dr. Grey"]

    shop.facility.reps.remove(shop.outsider)
    page = client.get(DASHBOARD).context
    assert (page["stock"], page["where_used"]) == ([], [])
