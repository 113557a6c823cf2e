import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Organization, User
from demo.seed import seed
from events.models import Event
from inventory.models import Device, DeviceStatus
from inventory.selectors import ledger_discrepancies

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_demo", "--no-progress")
    assert not Organization.objects.exists()


def test_seed_demo_is_idempotent_obeys_the_rules_and_prints_logins(settings, capsys,
                                                                     monkeypatch):
    settings.DEBUG = True
    monkeypatch.setenv("PORT", "8123")
    call_command("seed_demo", "--devices", "600", "--no-progress")
    out = capsys.readouterr().out
    assert "rep1" in out and "fieldstock-demo" in out
    assert "Open http://127.0.0.1:8123/" in out  # the port `make run` serves on
    # The warehouse holds stock but is no rep: never offered as a Representative.
    assert User.objects.get(username="warehouse").role != User.Role.REP
    # History reads as history: each submission, sales order and credit is dated on its
    # event's day, so a statement for this month does not list July's sales.
    from billing.models import SalesOrder
    from commissions.models import CommissionCredit

    assert Event.objects.filter(status="cancelled").exists()  # a called-off draft, kept
    submitted = Event.objects.exclude(submitted_at=None)
    assert submitted.exists()
    for event in submitted:
        assert timezone.localtime(event.submitted_at).date() == event.date
    for order in SalesOrder.objects.select_related("event"):
        assert timezone.localtime(order.issued_at).date() == order.event.date
    for credit in CommissionCredit.objects.select_related("event"):
        assert timezone.localtime(credit.created_at).date() == credit.event.date
    counts = (Device.objects.count(), Event.objects.count(), User.objects.count())
    statuses = set(Device.objects.values_list("status", flat=True))
    assert {DeviceStatus.AVAILABLE, DeviceStatus.FACILITY_STOCK, DeviceStatus.CONSUMED,
            DeviceStatus.REMOVED} <= statuses
    assert Event.objects.filter(event_type="stocking_order").exists()
    assert Event.objects.filter(event_type="case", facility_stock_only=True).exists()
    assert Event.objects.filter(event_type="case", facility_stock_only=False).exists()
    assert Event.objects.filter(event_type="return", credit_memo__isnull=False).exists()
    assert Event.objects.filter(event_type="return", status="draft",
                                name__startswith="Swap").exists()
    assert Organization.objects.count() == 2
    assert list(ledger_discrepancies()) == []

    seed(devices=600, progress=False)
    assert (Device.objects.count(), Event.objects.count(), User.objects.count()) == counts


def test_seed_demo_has_kits_one_overdue_one_short(settings):
    from events.loan_selectors import kits_out
    from inventory.kit_selectors import kit_contents
    from inventory.models import Kit, KitTemplate

    settings.DEBUG = True
    call_command("seed_demo", "--devices", "300", "--no-progress")
    call_command("seed_demo", "--devices", "300", "--no-progress")  # idempotent
    org = Organization.objects.get(users__username="rep1")
    assert KitTemplate.objects.filter(organization=org).count() == 2
    kits = {k.tag: k for k in Kit.objects.filter(organization=org)}
    assert sorted(kits) == ["CAGE-001", "PSS-001", "PSS-002", "PSS-003"]
    admin = User.objects.get(username="admin")
    out = kits_out(user=admin)
    assert (out.out, out.overdue) == (1, 1) and out.overdue_kits == [kits["PSS-002"]]
    assert kit_contents(kit=kits["PSS-003"]).state == "short"
    assert kit_contents(kit=kits["PSS-001"]).state == "complete"
    assert list(ledger_discrepancies()) == []


def test_seed_demo_has_one_open_recall_spread_over_holders(settings):
    from inventory.models import Recall, RecallHolder

    settings.DEBUG = True
    call_command("seed_demo", "--devices", "300", "--no-progress")
    call_command("seed_demo", "--devices", "300", "--no-progress")  # idempotent
    [recall] = Recall.objects.all()
    assert (recall.reference, recall.status) == ("R-DEMO-001", "open")
    holders = set(recall.units.values_list("holder", flat=True))
    assert RecallHolder.FACILITY in holders and len(holders) >= 2
    assert recall.notices.exists()
    assert Device.objects.filter(status=DeviceStatus.QUARANTINED).count() == (
        recall.units.count())
    assert list(ledger_discrepancies()) == []
def test_seed_demo_has_contracts_a_contract_priced_case_and_two_po_checks(settings):
    from billing.models import PurchaseOrder
    from billing.reconcile import po_reconcile
    from contracts.models import Contract
    from events.models import EventLine

    settings.DEBUG = True
    call_command("seed_demo", "--devices", "600", "--no-progress")
    call_command("seed_demo", "--devices", "600", "--no-progress")  # idempotent
    org = Organization.objects.get(users__username="rep1")
    unity = Contract.objects.get(organization=org, group__name="Unity Health System")
    assert unity.group.members.count() == 2
    assert Contract.objects.filter(organization=org).count() == 2
    priced = EventLine.objects.filter(event__organization=org, contract__isnull=False,
                                      committed=True)
    assert priced.filter(contract=unity).exists()
    assert all(line.price < line.device.product.unit_price
               for line in priced.select_related("device__product"))
    checks = {po.number: po_reconcile(event=po.event, purchase_order=po).status
              for po in PurchaseOrder.objects.filter(number__in=["PO-UNITY-5521", "PO-LSC-7730"])}
    assert checks == {"PO-UNITY-5521": "mismatch", "PO-LSC-7730": "matched"}


def test_seed_demo_has_two_regions_and_a_regional_manager(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--devices", "300", "--no-progress")
    regional = User.objects.get(username="regional")
    assert regional.is_regional_manager
    assert regional.region_membership.region.name == "North"
    assert regional.check_password("fieldstock-demo")
    manager = User.objects.get(username="manager")
    seen = Event.objects.for_user(regional).count()
    assert 0 < seen < Event.objects.for_user(manager).count()
    assert 0 < Device.objects.for_user(regional).count() < Device.objects.for_user(
        manager).count()
