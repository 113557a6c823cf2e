"""The Django admin refuses every lookup on a patient ID (no narrowing, no oracle), logs the
patient IDs its access-log pages show, and bounds every search (issue 22, findings 2 and 3)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import PatientAccess
from inventory.models import Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(world):
    """Two cases with patient IDs, so a lookup that worked would narrow the list to one."""
    first = world.event("case", patient_id="MRN-6001")
    second = world.event("case", patient_id="MRN-7002")
    return first, second


@pytest.mark.parametrize("who", ["admin", "manager"])
@pytest.mark.parametrize("url, query", [
    ("admin:events_event_changelist", "patient_id__startswith=MRN-6"),
    ("admin:events_event_changelist", "patient_id__regex=^MRN-6"),
    ("admin:events_event_changelist", "patient_id__gt=MRN-6"),
    ("admin:events_event_changelist", "patient_id=MRN-6001"),
    ("admin:events_event_changelist", "patient_id__iexact=mrn-6001"),
    ("admin:billing_salesorder_changelist", "event__patient_id__startswith=MRN-6"),
    ("admin:inventory_devicemovement_changelist", "event__patient_id__startswith=MRN-6"),
    ("admin:commissions_commissioncredit_changelist", "event__patient_id__startswith=MRN"),
    ("admin:accounts_patientaccess_changelist", "patient_id__startswith=MRN-6"),
])
def test_patient_id_lookups_are_refused(client, world, cases, who, url, query):
    client.force_login(getattr(world, who))
    response = client.get(f"{reverse(url)}?{query}")
    if who == "manager" and url == "admin:accounts_patientaccess_changelist":
        assert response.status_code == 403  # managers never see the access log
    else:
        assert response.status_code == 400
    assert b"MRN-6001" not in response.content


def test_every_admin_refuses_patient_id_lookups():
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    for model_admin in admin.site._registry.values():
        for lookup in ("patient_id", "patient_id__startswith", "event__patient_id__regex",
                       "device__movements__event__patient_id__gt"):
            assert not model_admin.lookup_allowed(lookup, "MRN", request), (model_admin, lookup)


def test_the_event_list_and_page_show_no_patient_id(client, world, cases):
    client.force_login(world.manager)
    html = client.get(reverse("admin:events_event_changelist")).content.decode()
    assert "MRN-" not in html
    html = client.get(reverse("admin:events_event_change", args=[cases[0].pk])).content.decode()
    assert "MRN-" not in html
    # A search is only on the name and surgeon.
    html = client.get(reverse("admin:events_event_changelist"), {"q": "MRN-6001"}).content
    assert b"0 results" in html


def test_the_access_log_pages_are_themselves_logged(client, world):
    PatientAccess.objects.create(organization=world.org, user=world.rep, patient_id="MRN-4242",
                                 what="event page", subject="Case 1")
    client.force_login(world.admin)
    url = reverse("admin:accounts_patientaccess_changelist")
    html = client.get(url).content.decode()
    assert "MRN-4242" in html
    logged = PatientAccess.objects.filter(user=world.admin, patient_id="MRN-4242")
    assert logged.count() == 1 and logged.get().what == "admin: patient ID access log"
    # Search takes a whole patient ID only: a prefix finds nothing.
    assert "MRN-4242" not in client.get(url, {"q": "MRN-42"}).content.decode()
    assert "MRN-4242" in client.get(url, {"q": "MRN-4242"}).content.decode()
    row = PatientAccess.objects.filter(user=world.rep).get()
    before = logged.count()
    client.get(reverse("admin:accounts_patientaccess_change", args=[row.pk]))
    assert logged.count() == before + 1


def test_every_admin_search_uses_prefix_or_exact_matches():
    for model_admin in admin.site._registry.values():
        for field in model_admin.search_fields:
            assert field[:1] in "^=", (type(model_admin).__name__, field)


def test_the_admin_search_is_capped_at_five_words(client, world, settings):
    assert settings.ADMIN_SEARCH_MAX_TERMS == 5
    devices = world.devices(3)
    target = devices[0]
    client.force_login(world.admin)
    url = reverse("admin:inventory_device_changelist")
    words = " ".join([target.serial] + ["x"] * 399)
    response = client.get(url, {"q": words})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Searched for the first 5 words only (400 given)." in html


def test_the_device_search_matches_serial_prefix_lot_and_catalogue_number(client, world,
                                                                         django_assert_max_num_queries):
    devices = world.devices(3)
    target = devices[0]
    client.force_login(world.admin)
    url = reverse("admin:inventory_device_changelist")

    def found(q):
        response = client.get(url, {"q": q})
        assert response.status_code == 200
        return {d.pk for d in response.context["cl"].result_list}

    assert found(target.serial) == {target.pk}
    assert found(target.serial[:4].lower()) >= {target.pk}
    assert found(target.lot) == {d.pk for d in Device.objects.filter(lot=target.lot)}
    assert found(target.product.reference) == {
        d.pk for d in Device.objects.filter(product=target.product)}
    assert found(f"{target.serial} {target.lot}") == {target.pk}
    # "Contains" is gone: the middle of a serial finds nothing.
    assert target.pk not in found(target.serial[2:])
    with django_assert_max_num_queries(14):
        client.get(url, {"q": " ".join(["a"] * 400)})
