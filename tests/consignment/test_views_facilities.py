import pytest
from django.urls import reverse
from django.utils.html import escape

from tests.factories import (
    FacilityContactFactory,
    FacilityFactory,
    ParLevelFactory,
    ProductFactory,
    ProductLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _more_rows(org, facility, n):
    line = ProductLineFactory(organization=org, manufacturer__organization=org)
    for _ in range(n):
        FacilityFactory(organization=org)
        FacilityContactFactory(facility=facility, organization=org)
        ParLevelFactory(facility=facility, organization=org,
                        product=ProductFactory(product_line=line, organization=org))


@pytest.mark.parametrize("rows", [1, 12])
def test_facility_list_and_detail_queries_do_not_grow_with_rows(
    client, django_assert_max_num_queries, rows
):
    facility = FacilityFactory()
    org = facility.organization
    _more_rows(org, facility, rows)
    facility.reps.add(UserFactory(organization=org))
    client.force_login(UserFactory(organization=org))
    with django_assert_max_num_queries(5):
        listing = client.get(reverse("consignment:facility_list"))
    assert escape(facility.name) in listing.content.decode()
    with django_assert_max_num_queries(7):
        detail = client.get(reverse("consignment:facility_detail", args=[facility.pk]))
    html = detail.content.decode()
    assert html.count("Materials manager") == rows
    assert detail.status_code == 200
