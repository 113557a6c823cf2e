"""manage.py send_stock_alerts: a digest per person of low and expiring facility stock."""

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from tests.factories import AdminFactory
from tests.reporting.conftest import days

pytestmark = pytest.mark.django_db


def test_covering_reps_and_admins_get_a_digest(shop):
    shop.coverer.email = "sam@example.com"
    shop.coverer.save()
    shop.par(shop.product, 5)
    shop.stock(shop.receive(2, expires_in_days=200))
    soon = shop.receive(1, expires_in_days=45)
    shop.stock(soon)  # 3 on hand: short by 2; one device expires in 45 days
    quiet = shop.new_facility(shop.outsider, name="Quiet Clinic")  # nothing to report
    shop.stock(shop.receive(1), facility=quiet)
    AdminFactory(organization=shop.org, email="")  # no address: skipped

    call_command("send_stock_alerts", "--today", days(0).isoformat(), "--days", "90")

    assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.com", "sam@example.com"]
    body = next(m for m in mail.outbox if m.to == ["sam@example.com"]).body
    assert "== St. Mary's ==" in body
    assert "MS-00001 Polyaxial pedicle screw 6.5 x 45 mm: 3 on hand, par 5, short by 2" in body
    assert f"{soon[0].label}: expires {days(45).isoformat()}" in body
    assert "Quiet Clinic" not in body
    assert mail.outbox[0].subject == "Facility stock alerts: 1 facility needs attention"


def test_days_and_today_options(shop):
    shop.coverer.email = "sam@example.com"
    shop.coverer.save()
    device = shop.receive(1, expires_in_days=45)
    shop.stock(device)
    call_command("send_stock_alerts", "--today", days(0).isoformat(), "--days", "30")
    assert mail.outbox == []  # 45 days away, only 30 asked for; no par levels
    call_command("send_stock_alerts", "--today", days(50).isoformat(), "--days", "30")
    body = next(m for m in mail.outbox if m.to == ["sam@example.com"]).body
    assert f"EXPIRED on {days(45).isoformat()}" in body


def test_other_organisations_admins_hear_nothing(shop):
    from tests.factories import OrganizationFactory

    AdminFactory(organization=OrganizationFactory(), email="other@example.com")
    shop.par(shop.product, 1)
    call_command("send_stock_alerts")
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.com", "coverer@example.com"]


def test_bad_today_is_an_error():
    with pytest.raises(CommandError):
        call_command("send_stock_alerts", "--today", "28/11/2026")
