"""The contract pages: admins manage contracts, prices, hospital systems and the CSV import;
managers read; reps are refused; another organisation's contract is a 404."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.models import Contract, ContractPrice, FacilityGroup
from contracts.services import contract_create
from tests.events.conftest import build_world

pytestmark = pytest.mark.django_db
START = datetime.date(2026, 1, 1)


def test_an_admin_creates_a_contract_adds_prices_and_imports_a_file(client, world):
    client.force_login(world.admin)
    response = client.post(
        reverse("contracts:create"),
        {"name": "St. Mary's 2026", "facility": world.st_marys.pk, "valid_from": "2026-01-01"},
    )
    contract = Contract.objects.get(name="St. Mary's 2026")
    assert response.url == reverse("contracts:detail", args=[contract.pk])
    # Overlapping dates for the same facility: refused with the message, nothing saved.
    refused = client.post(
        reverse("contracts:create"),
        {"name": "Overlap", "facility": world.st_marys.pk, "valid_from": "2026-06-01"},
    )
    assert refused.status_code == 400 and "can&#x27;t overlap" in refused.content.decode()
    detail = reverse("contracts:detail", args=[contract.pk])
    client.post(detail, {"product_line": world.line.pk, "percent_off": "15"})
    bad = client.post(detail, {"product": world.product.pk})
    assert bad.status_code == 400 and "Enter the contract price" in bad.content.decode()
    upload = SimpleUploadedFile(
        "p.csv",
        f"reference,product_line,price,percent_off\n{world.product.reference},,777,\n"
        "NOPE,,1,\n".encode(),
        content_type="text/csv",
    )
    page = client.post(reverse("contracts:import", args=[contract.pk]), {"file": upload})
    assert [str(e) for e in page.context["row_errors"]] == [
        "Row 3: no product has the reference “NOPE”."
    ]
    assert "Nothing was imported." in page.content.decode()
    assert ContractPrice.objects.count() == 1  # the form's line entry only: nothing imported
    upload = SimpleUploadedFile(
        "p.csv",
        f"reference,product_line,price,percent_off\n{world.product.reference},,777,\n".encode(),
        content_type="text/csv",
    )
    client.post(reverse("contracts:import", args=[contract.pk]), {"file": upload})
    assert ContractPrice.objects.count() == 2
    html = client.get(detail).content.decode()
    assert "$777.00" in html and "15% off list" in html
    entry = ContractPrice.objects.get(product=world.product)
    client.post(reverse("contracts:price_delete", args=[contract.pk, entry.pk]))
    assert not ContractPrice.objects.filter(pk=entry.pk).exists()
    client.post(
        reverse("contracts:edit", args=[contract.pk]),
        {"name": "Renamed", "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
    )
    contract.refresh_from_db()
    assert (contract.name, contract.valid_to) == ("Renamed", datetime.date(2026, 12, 31))


def test_hospital_systems_from_the_list_page(client, world):
    client.force_login(world.admin)
    client.post(
        reverse("contracts:list"),
        {"name": "Unity", "facilities": [world.st_marys.pk, world.mercy.pk]},
    )
    group = FacilityGroup.objects.get(name="Unity")
    assert group.members.count() == 2
    response = client.post(
        reverse("contracts:create"),
        {"name": "Unity GPO", "group": group.pk, "valid_from": "2026-01-01"},
    )
    assert response.status_code == 302
    both = client.post(
        reverse("contracts:create"),
        {"name": "Both", "group": group.pk, "facility": world.mercy.pk, "valid_from": "2027-01-01"},
    )
    assert "either one facility or one hospital system" in both.content.decode()


def test_who_sees_what(client, world, django_assert_max_num_queries):
    contract = contract_create(
        actor=world.admin, name="C", facility=world.st_marys, valid_from=START
    )
    other = build_world()
    foreign = contract_create(
        actor=other.admin, name="Theirs", facility=other.st_marys, valid_from=START
    )
    client.force_login(world.manager)
    with django_assert_max_num_queries(12):
        listing = client.get(reverse("contracts:list"))
    assert (
        "Theirs" not in listing.content.decode() and "New contract" not in listing.content.decode()
    )
    assert client.get(reverse("contracts:detail", args=[contract.pk])).status_code == 200
    assert (
        client.post(
            reverse("contracts:detail", args=[contract.pk]),
            {"product": world.product.pk, "price": "1"},
        ).status_code
        == 403
    )
    assert client.get(reverse("contracts:create")).status_code == 403
    client.force_login(world.rep)
    assert client.get(reverse("contracts:list")).status_code == 403
    client.force_login(world.admin)
    assert client.get(reverse("contracts:detail", args=[foreign.pk])).status_code == 404
    assert client.get(reverse("contracts:import", args=[foreign.pk])).status_code == 404
