"""seed_scale --organisations: many organisations of skewed sizes, seeded by worker processes;
verify_ledger checks them side by side and still catches a forged row."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count

from accounts.models import Organization, User
from demo.seed import ORG_NAME
from devtools.scale import SCALE_ORG_PREFIX, org_shares, scale_gtin, seed_scale
from inventory.ledger import chain_problems
from inventory.models import Device, DeviceMovement, LedgerChainHead
from inventory.selectors import ledger_discrepancies
from inventory.udi import validate_gtin
from tests.reporting.conftest import credit_recount, credit_summary, recount, summary

ROOT = Path(__file__).resolve().parents[2]


def verify(capsys, *args) -> tuple[int, str]:
    try:
        call_command("verify_ledger", *args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_org_shares_are_skewed_with_the_demo_organisation_largest():
    assert org_shares(None)[0] == 0.42 and len(org_shares(None)) == 10
    shares = org_shares(100)
    assert len(shares) == 100 and sum(shares) == pytest.approx(1)
    assert shares[0] == 0.2  # 2M of 10M
    assert shares[1] == pytest.approx(0.0955, abs=0.0005)  # the second: 1/2
    assert shares[99] == pytest.approx(0.0019, abs=0.0001)  # the hundredth: 1/100
    assert shares[1:] == sorted(shares[1:], reverse=True)


def test_every_organisation_up_to_the_hundredth_gets_valid_distinct_gtins():
    gtins = {scale_gtin(index, counter) for index in (1, 99, 100, 999) for counter in (1, 300)}
    assert len(gtins) == 8
    for gtin in gtins:
        assert len(gtin) == 14
        validate_gtin(gtin)


@pytest.mark.django_db
def test_organisations_option_is_checked(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="--organisations must be at least 2"):
        call_command("seed_scale", "--devices", "1000", "--organisations", "11",
                     "--no-progress")
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("seed_scale", "--devices", "1000", "--organisations", "5", "--workers", "0",
                     "--no-progress")
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_seed_scale_with_organisations_in_process():
    """Inside a transaction (this test) the organisations are seeded in this process."""
    seed_scale(devices=3000, progress=False, demo_devices=300, organisations=6, workers=2)

    assert Organization.objects.count() == 6
    assert Organization.objects.filter(name__startswith=SCALE_ORG_PREFIX).count() == 4
    sizes = dict(Device.objects.values_list("organization__name").annotate(n=Count("pk")))
    admin = User.objects.get(username="admin")
    assert max(sizes, key=sizes.get) == ORG_NAME == admin.organization.name
    # 20 % of the 3,000 plus the demo's own devices; the scale organisations shrink as 1/k.
    scale = [sizes[f"{SCALE_ORG_PREFIX} {n:02d}"] for n in range(1, 5)]
    assert scale == sorted(scale, reverse=True) and scale[0] > scale[-1] * 1.5
    # Every organisation has its own people, catalogue and chain.
    for org in Organization.objects.filter(name__startswith=SCALE_ORG_PREFIX):
        assert User.objects.filter(organization=org, role=User.Role.REP).count() == 21
        assert LedgerChainHead.objects.get(organization=org).last_seq == (
            DeviceMovement.objects.filter(organization=org).count())
    assert list(ledger_discrepancies()) == []
    assert list(chain_problems()) == []
    assert summary() == recount()
    assert credit_summary() == credit_recount()


def _manage(*args, check: bool = True) -> tuple[int, str]:
    """``manage.py *args`` in a fresh process on the test database; its exit code and output."""
    db = connection.settings_dict
    url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
           f"{db['PORT'] or 5432}/{db['NAME']}")
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": url, "SECRET_KEY": settings.SECRET_KEY,
           "LEDGER_KEY": settings.LEDGER_KEY}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done.returncode, done.stdout + done.stderr


@pytest.mark.django_db(transaction=True)
def test_workers_seed_and_verify_organisations_side_by_side(capsys):
    """Committed data: two worker processes seed five organisations, two verify them; a forged
    movement in one organisation is still caught, and named with that organisation."""
    # The workers are forked from a fresh process, as `manage.py seed_scale` runs: pytest's own
    # process carries threads (browsers, servers of earlier tests), and a fork copies their
    # state (a connection in use among it).
    _manage("shell", "-c", "from devtools.scale import seed_scale; seed_scale(devices=2500, "
            "progress=False, demo_devices=200, organisations=5, workers=2)")

    assert Organization.objects.count() == 5
    serials = list(Device.objects.values_list("product_id", "serial"))
    assert len(serials) == len(set(serials))
    lots = Device.objects.values("organization_id", "lot").distinct()
    assert not lots.values("lot").annotate(n=Count("organization_id", distinct=True)).filter(
        n__gt=1).exists()  # each worker its own range of lot numbers
    code, output = _manage("verify_ledger", "--workers", "2", check=False)
    assert code == 0, output
    assert "Ledger verified" in output and "(5 organisations, 2 workers" in output

    org = Organization.objects.get(name=f"{SCALE_ORG_PREFIX} 02")
    movement = DeviceMovement.objects.filter(organization=org).order_by("chain_seq")[10]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_devicemovement DISABLE TRIGGER "
                       "inventory_devicemovement_append_only")
        cursor.execute("UPDATE inventory_devicemovement SET note = 'forged' WHERE id = %s",
                       [movement.pk])
        cursor.execute("ALTER TABLE inventory_devicemovement ENABLE TRIGGER "
                       "inventory_devicemovement_append_only")
    code, output = _manage("verify_ledger", "--workers", "2", check=False)
    assert code == 1
    assert f"organisation {org.pk} movement #{movement.pk}" in output, output
    assert "1 discrepancies found" in output
    assert _manage("verify_ledger", "--workers", "1", check=False)[1].count("\n") == (
        output.count("\n"))
