"""Issue 23, smaller points: All Inventory's Product filter is a text box that suggests the
catalogue (a datalist), not a dropdown of every product; typed, picked or linked by id."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_product_filter_is_a_searchable_box(client, world):
    other = ProductFactory(
        product_line=world.line,
        organization=world.org,
        reference="CG-00042",
        description="Lumbar cage 10 mm",
    )
    mine = world.devices(2)
    theirs = world.devices(1, product=other)
    client.force_login(world.admin)
    url = reverse("inventory:device_list")
    html = client.get(url).content.decode()
    box = html.split('name="product"', 1)[1].split("</datalist>", 1)[0]
    assert 'list="product-options"' in box and "<select" not in box
    assert f'<option value="{escape(str(other))}">' in box
    # Picked from the suggestions, typed in any case, or linked by id: the same devices.
    serials = [d.serial for d in mine + theirs]

    def shown(value):
        page = client.get(url, {"product": value}).content.decode()
        return {s for s in serials if f"{s}<" in page or f"{s} " in page}

    for value in (str(other), "cg-00042", str(other.pk)):
        assert shown(value) == {theirs[0].serial}, value
    page = client.get(url, {"product": str(other.pk)}).content.decode()
    assert f'value="{escape(str(other))}"' in page  # the box shows the product, not its id
    assert shown(world.product.reference) == {d.serial for d in mine}
    page = client.get(url, {"product": "NOPE-1"}).content.decode()
    assert "No product &#x27;NOPE-1&#x27; in your catalogue." in page
