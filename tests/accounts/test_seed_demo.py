import pytest
from django.core.management import CommandError, call_command

from accounts.demo import seed
from accounts.models import Organization, User
from events.models import Event
from inventory.models import Device, DeviceStatus
from inventory.selectors import ledger_discrepancies

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_demo", "--no-progress")
    assert not Organization.objects.exists()


def test_seed_demo_is_idempotent_obeys_the_rules_and_prints_logins(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--devices", "600", "--no-progress")
    out = capsys.readouterr().out
    assert "rep1" in out and "fieldstock-demo" in out
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
