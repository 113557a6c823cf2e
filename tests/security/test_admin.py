"""The Django admin: the same people get in in every organisation, and domain rows the services
own are read-only there, so the admin cannot skip a rule."""

import pytest
from django.urls import reverse

from commissions.models import CommissionPlan
from tests.factories import AdminFactory, ManagerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_organisation_admins_and_managers_get_in_whatever_is_staff_says(client):
    admin = AdminFactory(is_staff=False)
    client.force_login(admin)
    assert client.get(reverse("admin:index")).status_code == 200
    manager = ManagerFactory(is_staff=False, organization=admin.organization)
    client.force_login(manager)
    assert client.get(reverse("admin:index")).status_code == 200
    rep = UserFactory(is_staff=True, organization=admin.organization)
    client.force_login(rep)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_a_rep_cannot_log_in_to_the_admin(client):
    from tests.factories import PASSWORD

    UserFactory(username="rita", is_staff=True)
    response = client.post(reverse("admin:login"), {"username": "rita", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_admin_cannot_create_a_commission_plan_the_service_would_refuse(client, world):
    """The audit made a 100 % plan for a manager in the admin; plans are read-only there now."""
    client.force_login(world.admin)
    url = reverse("admin:commissions_commissionplan_add")
    assert client.get(url).status_code == 403
    response = client.post(url, {"rep": world.manager.pk, "rate": "100", "stocking_share": "1"})
    assert response.status_code == 403
    assert not CommissionPlan.objects.exists()


@pytest.mark.parametrize("model", [
    "commissions_commissionplan", "events_event", "billing_salesorder",
    "commissions_commissioncredit",
    "inventory_device", "inventory_devicemovement", "inventory_transfer",
    "inventory_stockadjustment", "consignment_facilitycontact", "accounts_patientaccess",
])
def test_domain_models_are_read_only_in_the_admin(client, world, model):
    client.force_login(world.admin)
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403
    response = client.get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200
    assert reverse(f"admin:{model}_add") not in response.content.decode()


def test_the_admin_does_not_show_patient_ids(client, world):
    case = world.event("case", patient_id="PT-SECRET-77")
    client.force_login(world.admin)
    html = client.get(reverse("admin:events_event_change", args=[case.pk])).content.decode()
    assert case.name in html
    assert "PT-SECRET-77" not in html
    html = client.get(reverse("admin:events_event_changelist") + "?q=PT-SECRET").content.decode()
    assert case.name not in html  # searching by patient ID finds nothing
    html = client.get(reverse("admin:events_event_changelist") + "?q=case").content.decode()
    assert case.name in html  # while a search by name does
