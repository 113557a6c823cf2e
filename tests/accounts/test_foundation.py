import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from inventory.models import Product
from inventory.udi import validate_gtin
from tests.factories import (
    PASSWORD,
    AdminFactory,
    FacilityFactory,
    ManagerFactory,
    ProductLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_login_with_bad_password_fails_with_a_message(client):
    UserFactory(username="rep1")
    response = client.post(reverse("login"), {"username": "rep1", "password": "wrong"})
    assert response.status_code == 200
    assert "Wrong username or password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_then_home_shows_the_navigation(client):
    UserFactory(username="rep1")
    response = client.post(
        reverse("login"), {"username": "rep1", "password": PASSWORD}, follow=True
    )
    html = response.content.decode()
    for label in ["Events", "All Inventory", "Transfers", "Stock Adjustments", "Reports"]:
        assert f">{label}</a>" in html
    assert ">Receiving</a>" not in html  # admins only


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("consignment:facility_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_other_organisations_facility_is_404_in_views(client):
    mine = FacilityFactory()
    theirs = FacilityFactory()
    client.force_login(UserFactory(organization=mine.organization))
    assert client.get(reverse("consignment:facility_detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("consignment:facility_detail", args=[theirs.pk])).status_code == 404
    listing = client.get(reverse("consignment:facility_list")).content.decode()
    assert escape(mine.name) in listing
    assert escape(theirs.name) not in listing


def test_other_organisations_facility_is_404_in_the_admin(client):
    mine = FacilityFactory()
    theirs = FacilityFactory()
    client.force_login(AdminFactory(organization=mine.organization))
    url = reverse("admin:consignment_facility_change", args=[mine.pk])
    assert client.get(url).status_code == 200
    url = reverse("admin:consignment_facility_change", args=[theirs.pk])
    assert client.get(url).status_code == 404
    changelist = client.get(reverse("admin:consignment_facility_changelist")).content.decode()
    assert escape(mine.name) in changelist
    assert escape(theirs.name) not in changelist


def test_admin_choices_stay_inside_the_organisation(client):
    line = ProductLineFactory()
    other_line = ProductLineFactory()
    client.force_login(AdminFactory(organization=line.organization))
    html = client.get(reverse("admin:inventory_product_add")).content.decode()
    assert line.name in html
    assert other_line.name not in html


def test_rep_gets_403_where_only_admins_may_act(client):
    client.force_login(UserFactory())
    assert client.get(reverse("inventory:receiving")).status_code == 403


def test_manager_may_view_but_not_change_in_the_admin(client):
    facility = FacilityFactory()
    client.force_login(ManagerFactory(organization=facility.organization))
    url = reverse("admin:consignment_facility_change", args=[facility.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    response = client.post(url, {"name": "Renamed", "payment_terms_days": 30})
    assert response.status_code == 403
    facility.refresh_from_db()
    assert facility.name != "Renamed"


def test_production_settings_refuse_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    ("gtin", "message"),
    [
        ("1234", "must be exactly 14 digits"),
        ("0950110153000A", "must be exactly 14 digits"),
        ("09501101530004", "wrong check digit: the last digit should be 3"),
    ],
)
def test_malformed_gtin_is_rejected_with_a_clear_message(gtin, message):
    with pytest.raises(ValidationError) as excinfo:
        validate_gtin(gtin)
    assert message in str(excinfo.value)
    line = ProductLineFactory()
    product = Product(
        organization=line.organization, product_line=line, reference="X-1", gtin=gtin,
        description="Cage", unit_price=10,
    )
    with pytest.raises(ValidationError) as excinfo:
        product.full_clean()
    assert "gtin" in excinfo.value.message_dict


def test_pages_send_a_content_security_policy_without_inline_scripts(client):
    client.force_login(UserFactory())
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = response.content.decode()
    assert "<script>" not in html
    assert 'hx-headers=\'{"X-CSRFToken"' in html
