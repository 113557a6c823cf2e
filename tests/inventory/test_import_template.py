"""Issue 23, smaller points: the import page's sample rows come from your own catalogue and a
CSV template is downloadable; the template, imported as it is, receives its devices."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import Device
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_sample_and_the_template_name_products_of_the_catalogue(client, world):
    hibc = ProductFactory(
        product_line=world.line,
        organization=world.org,
        gtin="",
        hibc_labeler="H703",
        hibc_product="ZZ0001",
        hibc_unit=0,
    )
    client.force_login(world.admin)
    html = client.get(reverse("inventory:receiving_import")).content.decode()
    sample = html.split('data-testid="import-sample"', 1)[1].split("</pre>", 1)[0]
    assert world.product.gtin in sample and hibc.hibc_code in sample
    assert reverse("inventory:receiving_import_template") in html

    response = client.get(reverse("inventory:receiving_import_template"))
    assert response["Content-Type"].startswith("text/csv")
    assert "receiving-import-template.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["gtin", "lot", "serial", "expiration_date", "custodian"]
    assert [r[0] for r in rows[1:]] == [world.product.gtin, hibc.hibc_code]
    assert {r[4] for r in rows[1:]} == {world.rep.username}

    # The template as downloaded is a file the import takes.
    before = Device.objects.count()
    upload = SimpleUploadedFile("t.csv", response.content, content_type="text/csv")
    client.post(reverse("inventory:receiving_import"), {"file": upload})
    assert Device.objects.count() == before + 2
    assert set(Device.objects.filter(custodian=world.rep).values_list("product_id", flat=True)) >= {
        world.product.pk,
        hibc.pk,
    }


def test_only_receivers_get_the_template(client, world):
    for user in (world.rep, world.manager):
        client.force_login(user)
        assert client.get(reverse("inventory:receiving_import_template")).status_code == 403
