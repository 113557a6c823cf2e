"""Regions: admins create and change them in the Settings (through ``region_save``); a facility
is in one region at most, a person in one region at most (the database backs it)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from consignment.models import Facility, Region, RegionMember
from consignment.services import region_save
from tests.events.conftest import world  # noqa: F401
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_region_save_moves_a_facility_and_refuses_a_person_of_another_region(world):  # noqa: F811
    north = region_save(actor=world.admin, region=Region(organization=world.org, name="North"),
                        facilities=[world.st_marys], members=[world.rep])
    south = region_save(actor=world.admin, region=Region(organization=world.org, name="South"),
                        facilities=[world.mercy, world.st_marys], members=[world.rep2])
    assert Facility.objects.get(pk=world.st_marys.pk).region == south  # moved, one region
    assert list(north.facilities.all()) == []
    with pytest.raises(ValidationError, match=r"Already in another region: Ann Rep \(North\)"):
        region_save(actor=world.admin, region=south, facilities=[world.mercy],
                    members=[world.rep2, world.rep])
    assert set(south.members.values_list("user_id", flat=True)) == {world.rep2.pk}
    with pytest.raises(ValidationError, match="Only reps and regional managers"):
        region_save(actor=world.admin, region=south, facilities=[], members=[world.manager])
    with pytest.raises(ValidationError, match="exists already"):
        region_save(actor=world.admin, region=Region(organization=world.org, name=" North "),
                    facilities=[], members=[])
    with pytest.raises(PermissionDenied):
        region_save(actor=world.manager, region=north, facilities=[], members=[])
    other = OrganizationFactory()
    with pytest.raises(ValidationError):
        region_save(actor=world.admin, region=north, facilities=[],
                    members=[UserFactory(organization=other)])
    # The database: one region per person.
    with pytest.raises(IntegrityError), transaction.atomic():
        RegionMember.objects.create(organization=world.org, region=north, user=world.rep2)


def test_admins_edit_regions_in_the_settings_and_managers_only_look(client, world):  # noqa: F811
    rhea = UserFactory(organization=world.org, role=User.Role.REGIONAL_MANAGER,
                       first_name="Rhea", is_staff=True)
    client.force_login(world.admin)
    response = client.post(reverse("admin:consignment_region_add"), {
        "name": "North", "facilities": [world.st_marys.pk], "members": [world.rep.pk, rhea.pk],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    region = Region.objects.get(organization=world.org, name="North")
    assert list(region.facilities.all()) == [world.st_marys]
    assert set(region.members.values_list("user_id", flat=True)) == {world.rep.pk, rhea.pk}
    change = reverse("admin:consignment_region_change", args=[region.pk])
    page = client.get(change).content.decode()
    assert "St. Mary&#x27;s" in page or "St. Mary's" in page
    # A person of another region: refused with a message, nothing saved.
    south = region_save(actor=world.admin, region=Region(organization=world.org, name="South"),
                        facilities=[world.mercy], members=[world.rep2])
    refused = client.post(change, {"name": "North", "facilities": [world.st_marys.pk],
                                   "members": [world.rep.pk, world.rep2.pk]}, follow=True)
    assert "Already in another region: Bob Cover (South)" in refused.content.decode()
    assert RegionMember.objects.get(user=world.rep2).region == south

    client.force_login(world.manager)
    assert client.get(change).status_code == 200  # managers look
    assert client.post(reverse("admin:consignment_region_add"),
                       {"name": "East"}).status_code == 403
    client.force_login(rhea)
    assert client.get(change).status_code in (302, 403)  # no Settings for a regional manager


@pytest.mark.django_db(transaction=True)
def test_two_admins_putting_one_rep_in_two_regions_at_once_get_a_message(world):  # noqa: F811
    """The second save waits for the first and is refused with the region's name, not a 500
    (the one-region constraint would refuse it as an IntegrityError otherwise)."""
    import threading
    import time

    from django.db import connection

    saved, failures = threading.Event(), []

    def first():
        try:
            with transaction.atomic():
                region_save(actor=world.admin,
                            region=Region(organization=world.org, name="North"),
                            facilities=[], members=[world.rep])
                saved.set()
                time.sleep(1.5)  # the second save reaches its lock meanwhile
        except Exception as error:  # pragma: no cover - reported below
            failures.append(repr(error))
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert saved.wait(timeout=30), failures
    try:
        with pytest.raises(ValidationError, match=r"Already in another region: Ann Rep \(North\)"):
            region_save(actor=world.admin, region=Region(organization=world.org, name="South"),
                        facilities=[], members=[world.rep])
    finally:
        thread.join(timeout=30)
    assert failures == []
    assert RegionMember.objects.get(user=world.rep).region.name == "North"
    assert not Region.objects.filter(name="South").exists()
