"""Issue 23's sweep, every page: on the demo data (`seed_demo`: kits, a loan out, a recall,
contracts, scheduled cases, inventory requests, POs waiting), every page a rep, an admin and a
manager reach fits a 390 px phone and a 1280 px laptop without the page scrolling sideways. On a
phone a wide table may scroll inside its own box (`.table-responsive`) or stack as cards
(`.table-stack`); the page itself never does. At 1280 px no table scrolls either."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import User
from commissions.models import CommissionPlan
from contracts.models import Contract
from events.models import Event, EventStatus, EventType, InventoryRequest
from inventory.models import Kit, KitTemplate, Recall, Transfer
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DEMO_PASSWORD = "fieldstock-demo"


@pytest.fixture(autouse=True)
def patient_navigation(page):
    """Six engineers share two cores: a page may take long to load (nothing here is timed)."""
    page.set_default_navigation_timeout(120_000)


def every_page() -> dict[str, list[str]]:
    """Every page each demo user reaches: lists, details, forms and settings, per role."""
    admin = User.objects.get(username="admin")
    org = admin.organization_id
    kit = Kit.objects.get(organization_id=org, tag="PSS-001")
    loan = Event.objects.filter(organization_id=org, event_type=EventType.LOAN,
                                status=EventStatus.ON_LOAN).first()
    loaned = loan.kits.first()
    template = KitTemplate.objects.filter(organization_id=org).first()
    recall = Recall.objects.filter(organization_id=org).first()
    contract = Contract.objects.filter(organization_id=org).first()
    plan = CommissionPlan.objects.filter(organization_id=org).first()
    inventory_request = InventoryRequest.objects.filter(organization_id=org).first()
    waiting_po = Event.objects.filter(organization_id=org, status=EventStatus.PENDING_PO).first()
    rep = loan.representative
    draft = Event.objects.filter(representative=rep, event_type=EventType.CASE,
                                 status=EventStatus.DRAFT).first()
    transfer = Transfer.objects.filter(to_custodian=rep).first()
    everyone = [
        "/", "/events/", "/events/agenda/", "/inventory/", "/inventory/kits/",
        f"/inventory/kits/{kit.pk}/", f"/events/loans/{loan.pk}/", "/inventory/transfers/",
        f"/inventory/transfers/{transfer.pk}/", "/inventory/adjustments/", "/facilities/",
        "/recalls/", f"/recalls/{recall.pk}/", "/reports/", "/reports/sales/",
        "/reports/usage/", "/reports/replenishment/", "/reports/commissions/statement/",
        "/accounts/password/", "/api/tokens/",
    ]
    return {
        rep.username: [
            *everyone, "/events/new/", "/events/schedule/", "/events/agenda/calendar/",
            f"/events/{draft.pk}/?tab=used", f"/events/{draft.pk}/sign-off/",
            f"/events/{draft.pk}/request-inventory/", "/events/loans/new/",
            "/inventory/transfers/new/",
        ],
        admin.username: [
            *everyone, "/events/new/", "/events/schedule/", "/events/agenda/calendar/",
            f"/inventory/kits/{kit.pk}/edit/", "/inventory/kits/new/",
            "/inventory/kits/templates/new/", f"/inventory/kits/templates/{template.pk}/",
            "/events/loans/new/", f"/events/loans/{loan.pk}/edit/",
            f"/events/loans/{loan.pk}/kits/{loaned.pk}/check-in/", "/events/kit-utilisation/",
            "/inventory/transfers/new/", "/events/requests/",
            f"/events/requests/{inventory_request.pk}/", f"/events/{draft.pk}/sign-off/",
            "/events/billing/", "/events/billing/pending-po/",
            f"/events/{waiting_po.pk}/billing/purchase-order/",
            "/reports/commissions/plans/", f"/reports/commissions/plans/{plan.pk}/",
            "/recalls/new/", "/contracts/", "/contracts/new/", f"/contracts/{contract.pk}/",
            f"/contracts/{contract.pk}/edit/", f"/contracts/{contract.pk}/import/",
            "/reports/contracts/", "/inventory/adjustments/new/", "/inventory/receiving/",
            "/inventory/receiving/scan/", "/inventory/receiving/import/",
        ],
        "manager": [
            *everyone, "/events/billing/", "/events/billing/pending-po/",
            "/events/kit-utilisation/", "/contracts/", f"/contracts/{contract.pk}/",
            "/reports/contracts/", "/reports/commissions/plans/",
        ],
    }


def overflow(page) -> int:
    """How far the page itself scrolls sideways (0: it fits)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def scrolling_tables(page) -> list[str]:
    """The visible tables wider than the box that holds them (they scroll inside it)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('table')]"
        ".filter(t => t.offsetParent && t.scrollWidth > t.parentElement.clientWidth + 1)"
        ".map(t => (t.dataset.testid || t.className) + ' ' + t.scrollWidth + '>'"
        " + t.parentElement.clientWidth)")


def test_every_page_a_user_reaches_fits_a_phone_and_a_laptop(page, live_server, settings):
    settings.DEBUG = True  # seed_demo refuses to run otherwise
    call_command("seed_demo", "--devices", "300", "--no-progress")
    settings.DEBUG = False
    pages = every_page()
    wide, failed = [], []
    for username, paths in pages.items():
        page.context.clear_cookies()
        page.set_viewport_size(DESKTOP)
        login(page, live_server, username, DEMO_PASSWORD)
        for path in paths:
            for viewport in (PHONE, DESKTOP):
                page.set_viewport_size(viewport)
                response = page.goto(f"{live_server.url}{path}")
                if response.status != 200:
                    failed.append(f"{username} {path}: {response.status}")
                    break
                page.wait_for_load_state("networkidle")
                if overflow(page) > 0:
                    wide.append(f"{username} {viewport['width']} {path}: {overflow(page)} px")
                if viewport is DESKTOP and scrolling_tables(page):
                    wide.append(f"{username} 1280 {path}: {scrolling_tables(page)}")
    assert failed == []
    assert wide == []
    assert sum(len(paths) for paths in pages.values()) >= 100
