"""seed_scale: refused without DEBUG; otherwise a consistent data set."""

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.models import Organization, User
from billing.models import Invoice, SalesOrder
from commissions.models import CommissionCredit
from demo.seed import ORG_NAME
from devtools.scale import seed_scale
from events.models import Event, EventLine, EventLineSummary
from inventory.ledger import chain_problems
from inventory.models import Device, DeviceMovement, DeviceStatus
from inventory.selectors import ledger_discrepancies
from tests.reporting.conftest import credit_recount, credit_summary, recount, summary

pytestmark = pytest.mark.django_db


def test_seed_scale_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_scale", "--devices", "1000", "--no-progress")
    assert not Organization.objects.exists()


def test_seed_scale_builds_a_consistent_data_set_on_the_demo_data():
    seed_scale(devices=4000, progress=False, demo_devices=300)

    assert Organization.objects.count() == 10
    # The demo logins are valid and belong to the largest organisation.
    admin = User.objects.get(username="admin")
    assert admin.check_password("fieldstock-demo")
    sizes = dict(Device.objects.values_list("organization__name").annotate(n=Count("pk")))
    assert max(sizes, key=sizes.get) == ORG_NAME == admin.organization.name
    # The ledger replays (every device matches its movements) and its HMAC chain holds.
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []
    # Every status, events of every kind, with lines, documents and credits.
    mix = dict(Device.objects.values_list("status").annotate(n=Count("pk")))
    assert set(mix) == set(DeviceStatus.values)
    assert mix[DeviceStatus.AVAILABLE] > mix[DeviceStatus.CONSUMED] > mix[DeviceStatus.REMOVED]
    assert Event.objects.filter(event_type="case", facility_stock_only=True).exists()
    assert Event.objects.filter(event_type="stocking_order").exists()
    # (Loans sell nothing: no lines, no documents.)
    submitted = Event.objects.exclude(status__in=("draft", "cancelled")).exclude(event_type="loan")
    # A sales order per submitted sale or use; a return gets a credit memo instead.
    assert SalesOrder.objects.count() == submitted.exclude(event_type="return").count()
    assert not submitted.filter(lines__isnull=True).exists()
    assert EventLine.objects.filter(committed=True).count() == EventLine.objects.filter(
        event__in=submitted).count()
    assert Invoice.objects.exists() and CommissionCredit.objects.exists()
    assert DeviceMovement.objects.count() > Device.objects.count()
    # The lines loaded with COPY are summarised for the reports, as Submit For Billing would.
    assert summary() == recount()
    assert credit_summary() == credit_recount()
    assert EventLineSummary.objects.filter(organization=admin.organization).count() > 100

    # Kits among the devices, some out on loan, built through the services.
    from inventory.models import Kit

    scale_kits = Kit.objects.filter(tag__startswith="S", organization=admin.organization)
    assert scale_kits.count() >= 4
    assert scale_kits.filter(status="loaned").exists()
    assert Device.objects.filter(kit__in=scale_kits, status=DeviceStatus.LOANED).exists()

    # Running it again adds nothing.
    counts = (Device.objects.count(), Event.objects.count())
    assert seed_scale(devices=4000, progress=False, demo_devices=300) == [
        "The scale data set is already loaded: nothing added."]
    assert (Device.objects.count(), Event.objects.count()) == counts
