"""Prices on the event: a draft shows the contract price in force on its date (one query for all
lines), Submit For Billing freezes it with its contract, an admin's override needs a reason and
is kept; commissions follow the frozen price."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from billing.models import SalesOrder
from commissions.models import CommissionCredit, CommissionPlan
from contracts.services import contract_create, contract_price_set, contract_update
from events.models import EventLine
from events.pricing import event_line_price_override
from tests.billing._billing import pdf_text, private_storage, submit_rendered  # noqa: F401
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = datetime.date.today()


def st_marys_contract(world, price="850.00", start=None, end=None):
    contract = contract_create(
        actor=world.admin,
        name="St. Mary's GPO",
        facility=world.st_marys,
        valid_from=start or TODAY - datetime.timedelta(days=30),
        valid_to=end,
    )
    contract_price_set(
        actor=world.admin, contract=contract, product=world.product, price=Decimal(price)
    )
    return contract


def test_a_draft_shows_the_contract_price_and_the_contract(client, world):
    contract = st_marys_contract(world)
    event = world.event("case")
    world.add(event, world.devices(2))
    client.force_login(world.rep)
    page = client.get(reverse("events:detail", args=[event.pk]) + "?tab=used")
    html = page.content.decode()
    assert [str(line.price) for line in page.context["lines"]] == ["850.00", "850.00"]
    assert page.context["total"] == Decimal("1700.00")
    assert "St. Mary&#x27;s GPO (contract price)" in html
    assert "Override price" not in html  # a rep may not override
    # The same case at Mercy General (no contract): list price.
    other = world.event("case", facility=world.mercy)
    world.add(other, world.devices(1))
    page = client.get(reverse("events:detail", args=[other.pk]) + "?tab=used")
    assert page.context["total"] == Decimal("1000.00")
    assert contract.pk  # used


def test_the_draft_page_prices_all_lines_in_one_query(client, world, django_assert_max_num_queries):
    st_marys_contract(world)
    lines = [ProductFactory(product_line=world.line, organization=world.org) for _ in range(2)]
    event = world.event("case")
    world.add(event, world.devices(2))
    client.force_login(world.admin)
    url = reverse("events:detail", args=[event.pk]) + "?tab=used"
    client.get(url)
    with django_assert_max_num_queries(40) as small:
        client.get(url)
    for product in lines:
        world.add(event, world.devices(6, product=product))
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(url)
    assert len(page.context["lines"]) == 14


def test_submit_freezes_the_price_and_a_later_contract_change_never_moves_it(world):
    CommissionPlan.objects.create(organization=world.org, rate=Decimal("0.10"))
    contract = st_marys_contract(world)
    event = world.event("case")
    world.add(event, world.devices(2))
    world.submit(event)
    lines = list(EventLine.objects.filter(event=event))
    assert {(line.price, line.contract_id) for line in lines} == {(Decimal("850.00"), contract.pk)}
    assert SalesOrder.objects.get(event=event).total == Decimal("1700.00")
    # Commission on the frozen contract price: 10 % of 850.
    assert {c.amount for c in CommissionCredit.objects.filter(event=event)} == {Decimal("85.00")}
    contract_price_set(
        actor=world.admin, contract=contract, product=world.product, price=Decimal("10.00")
    )
    contract_update(
        actor=world.admin,
        contract=contract,
        name="Renamed",
        valid_from=TODAY + datetime.timedelta(days=5),
        valid_to=None,
    )
    assert {line.price for line in EventLine.objects.filter(event=event)} == {Decimal("850.00")}
    assert SalesOrder.objects.get(event=event).total == Decimal("1700.00")


def test_the_contract_in_force_on_the_event_date_prices_it(world):
    st_marys_contract(
        world, start=TODAY - datetime.timedelta(days=30), end=TODAY - datetime.timedelta(days=10)
    )
    event = world.event("stocking_order", date=TODAY - datetime.timedelta(days=1))
    world.add(event, world.devices(1))
    world.submit(event)
    line = EventLine.objects.get(event=event)
    assert (line.price, line.contract_id) == (Decimal("1000.00"), None)  # expired: list price


def test_an_override_needs_a_reason_an_admin_and_is_kept_at_submit(world):
    st_marys_contract(world)
    event = world.event("case")
    [line] = world.add(event, world.devices(1))
    with pytest.raises(ValidationError, match="Say why"):
        event_line_price_override(
            actor=world.admin, event=event, line=line, price="700", reason="  "
        )
    with pytest.raises(PermissionDenied):
        event_line_price_override(
            actor=world.rep, event=event, line=line, price="700", reason="Surgeon waste"
        )
    with pytest.raises(ValidationError, match="0 or more"):
        event_line_price_override(actor=world.admin, event=event, line=line, price="-1", reason="x")
    event_line_price_override(
        actor=world.admin,
        event=event,
        line=line,
        price="700.00",
        reason="Price match agreed with the buyer",
    )
    world.submit(event)
    line.refresh_from_db()
    assert (line.price, line.contract_id, line.price_override_reason) == (
        Decimal("700.00"),
        None,
        "Price match agreed with the buyer",
    )
    assert SalesOrder.objects.get(event=event).total == Decimal("700.00")
    with pytest.raises(ValidationError, match="can't be changed"):
        event_line_price_override(
            actor=world.admin, event=event, line=line, price="1", reason="after submit"
        )


def test_the_override_form_on_the_event_page(client, world):
    event = world.event("case")
    world.add(event, world.devices(1))
    device = event.lines.get().device
    client.force_login(world.admin)
    url = reverse("events:line_price", args=[event.pk, device.pk])
    client.post(url, {"price": "650", "reason": ""})
    assert EventLine.objects.get(event=event).price_override_reason == ""
    client.post(url, {"price": "650", "reason": "Damaged box, agreed discount"})
    html = client.get(reverse("events:detail", args=[event.pk]) + "?tab=used").content.decode()
    assert "Damaged box, agreed discount" in html and "Override" in html
    client.force_login(world.rep)
    assert client.post(url, {"price": "1", "reason": "x"}).status_code == 403


def test_the_sales_order_and_the_billing_queue_show_the_contract_and_the_override(
    client, world, django_capture_on_commit_callbacks
):
    st_marys_contract(world)
    event = world.event("case", name="Hip 7 May")
    first, second = world.add(event, world.devices(2))
    event_line_price_override(
        actor=world.admin, event=event, line=second, price="600", reason="Explant credit agreed"
    )
    event = submit_rendered(world, event, django_capture_on_commit_callbacks)
    text = " ".join(pdf_text(stored_bytes(event.sales_order)).split())
    # The price cell wraps next to the UDI column: each phrase is there, in layout order.
    for words in (
        "contract St.",
        "Mary's GPO",
        "price override:",
        "Explant credit agreed",
        "$850.00",
        "$600.00",
    ):
        assert words in text, words
    assert "1,450.00" in text
    client.force_login(world.admin)
    html = client.get(reverse("billing:queue")).content.decode()
    assert "1 price override" in html


def stored_bytes(document) -> bytes:
    with document.pdf.open("rb") as handle:
        return handle.read()


def test_the_contract_report_sums_sales_by_facility_and_contract_and_lists_overrides(
    client, world, django_assert_max_num_queries
):
    contract = st_marys_contract(world)
    priced = world.event("case")
    world.add(priced, world.devices(2))
    world.submit(priced)
    overridden = world.event("stocking_order", facility=world.mercy)
    [line] = world.add(overridden, world.devices(1))
    event_line_price_override(
        actor=world.admin, event=overridden, line=line, price="400", reason="Trade-in of an old set"
    )
    world.submit(overridden)
    client.force_login(world.manager)
    url = reverse("reporting:contracts")
    with django_assert_max_num_queries(15):
        page = client.get(url)
    rows = {(r["facility"], r["contract"]): r for r in page.context["rows"]}
    assert rows[("St. Mary's", contract.name)]["amount"] == Decimal("1700.00")
    assert rows[("St. Mary's", contract.name)]["discount"] == Decimal("300.00")
    assert rows[("Mercy General", "")]["overrides"] == 1
    assert page.context["override_counts"]["count"] == 1
    assert "Trade-in of an old set" in page.content.decode()
    csv = b"".join(client.get(url, {"export": "overrides"}).streaming_content).decode()
    assert "Trade-in of an old set" in csv and "400.00" in csv
    csv = b"".join(client.get(url, {"export": "contracts"}).streaming_content).decode()
    assert "St. Mary's GPO" in csv and "No contract" in csv
    # A rep sees their own events only: the other rep's override is not theirs.
    client.force_login(world.rep2)
    assert client.get(url).context["override_counts"]["count"] == 0
