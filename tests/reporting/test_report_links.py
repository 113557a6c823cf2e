"""Issue 23, point 7 and the smaller points: report rows link to what they count, a low-stock
row makes a stocking order, Replenishment opens on the rep using it, the commission statement
opens on the reports' period and on a rep with credits."""

import pytest
from django.urls import reverse

from commissions.models import CommissionCredit
from core.dates import default_period
from events.models import Event, EventType

pytestmark = pytest.mark.django_db


def _low_stock_row(html: str) -> str:
    return html.split('data-testid="low-stock"', 1)[1].split("</section>", 1)[0]


def test_dashboard_rows_link_to_the_facility_the_devices_the_case_and_the_stocking_order(
    client, shop
):
    sold = shop.receive(3)
    order = shop.stock(sold)
    case = shop.use(sold[:1])
    shop.facility.reps.add(shop.seller)
    shop.par(shop.product, 5)
    client.force_login(shop.manager)
    html = client.get(reverse("reporting:index")).content.decode()
    facility_url = reverse("consignment:facility_detail", args=[shop.facility.pk])
    devices_url = (
        f"{reverse('inventory:device_list')}?status=facility_stock&amp;"
        f"facility={shop.facility.pk}&amp;product={shop.product.pk}"
    )
    low = _low_stock_row(html)
    assert f'href="{facility_url}"' in low and f'href="{devices_url}"' in low
    # Where used: the case, its facility, the device and the stocking order that sold it.
    assert f'href="{reverse("events:detail", args=[case.pk])}"' in html
    assert f'href="{reverse("events:detail", args=[order.pk])}"' in html
    assert f'href="{reverse("inventory:device_detail", args=[sold[0].pk])}"' in html
    # A manager restocks nothing: no button.
    assert 'data-testid="low-create-order"' not in low
    # The devices link lists that facility stock.
    listing = client.get(
        reverse("inventory:device_list"),
        {
            "status": "facility_stock",
            "facility": shop.facility.pk,
            "product": shop.product.pk,
        },
    ).content.decode()
    assert sold[1].serial in listing and sold[2].serial in listing


def test_a_low_stock_row_creates_the_reps_stocking_order_for_what_is_short(client, shop):
    shop.facility.reps.add(shop.seller)
    shop.stock(shop.receive(1))
    shop.par(shop.product, 4)  # on hand 1: short by 3
    fresh = shop.receive(5, expires_in_days=500)
    client.force_login(shop.seller)
    low = _low_stock_row(client.get(reverse("reporting:index")).content.decode())
    assert "Create stocking order" in low
    response = client.post(
        reverse("reporting:replenishment_create"),
        {
            "facility": shop.facility.pk,
            "rep": shop.seller.pk,
            "product_line": shop.line.pk,
            f"qty_{shop.product.pk}": 3,
        },
    )
    draft = Event.objects.get(event_type=EventType.STOCKING_ORDER, status="draft")
    assert response["Location"] == reverse("events:detail", args=[draft.pk])
    assert (draft.facility, draft.representative, draft.product_line) == (
        shop.facility,
        shop.seller,
        shop.line,
    )
    assert draft.lines.count() == 3
    assert set(draft.lines.values_list("device_id", flat=True)) <= {d.pk for d in fresh}
    # An admin picks the rep on the replenishment page, the facility already chosen.
    client.force_login(shop.admin)
    low = _low_stock_row(client.get(reverse("reporting:index")).content.decode())
    assert f"{reverse('reporting:replenishment')}?facility={shop.facility.pk}" in low


def test_replenishment_opens_on_the_rep_using_it(client, shop):
    client.force_login(shop.coverer)
    form = client.get(reverse("reporting:replenishment")).context["form"]
    assert form["rep"].value() == shop.coverer.pk
    html = client.get(reverse("reporting:replenishment")).content.decode()
    assert f'<option value="{shop.coverer.pk}" selected>' in html
    client.force_login(shop.admin)
    assert client.get(reverse("reporting:replenishment")).context["form"]["rep"].value() is None


def test_sales_and_usage_rows_link_to_their_events_and_devices(client, shop):
    shop.facility.reps.add(shop.seller)
    sold = shop.receive(2)
    shop.stock(sold)
    shop.use(sold[:1])
    client.force_login(shop.manager)
    sales = client.get(reverse("reporting:sales")).content.decode()
    assert f"{reverse('events:list')}?representative={shop.seller.pk}&amp;date_from=" in sales
    assert f"{reverse('events:list')}?facility={shop.facility.pk}&amp;date_from=" in sales
    usage = client.get(reverse("reporting:usage")).content.decode()
    assert (
        f"{reverse('inventory:device_list')}?product={shop.product.pk}&amp;status=consumed" in usage
    )
    assert f'href="{reverse("consignment:facility_detail", args=[shop.facility.pk])}"' in usage


def test_the_commission_statement_opens_on_the_reports_period_and_a_credited_rep(client, shop):
    shop.facility.reps.add(shop.seller)
    shop.stock(shop.receive(1))
    assert CommissionCredit.objects.filter(rep=shop.seller).exists()
    client.force_login(shop.admin)
    form = client.get(reverse("commissions:statement")).context["form"]
    date_from, date_to = default_period(form.cleaned_data["date_to"])
    assert (form.cleaned_data["date_from"], form.cleaned_data["date_to"]) == (date_from, date_to)
    assert form.cleaned_data["rep"] == shop.seller
    report = client.get(reverse("reporting:index")).context["filters"]
    assert (report.date_from, report.date_to) == (date_from, date_to)
