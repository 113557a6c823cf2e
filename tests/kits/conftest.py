"""Kit fixtures: the shared ``world`` plus a two-product template and helpers to build, loan and
check kits in through the services."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from inventory.kit_services import kit_create, kit_template_create
from inventory.models import Device, Kit, KitTemplate, Product
from tests.events.conftest import World, build_world, world  # noqa: F401
from tests.factories import ProductFactory


@dataclass
class Kits:
    world: World
    screw: Product
    plate: Product
    template: KitTemplate  # 3 screws, 2 plates

    def build(self, tag: str = "K-1", custodian=None, actor=None, screws=3, plates=2,
              **receive) -> Kit:
        w = self.world
        custodian = custodian or w.rep
        devices = (w.devices(screws, custodian=custodian, product=self.screw, **receive)
                   if screws else [])
        devices += (w.devices(plates, custodian=custodian, product=self.plate, **receive)
                    if plates else [])
        return kit_create(actor=actor or w.admin, template=self.template, tag=tag,
                          custodian=custodian, devices=devices)

    def loan(self, kit: Kit, facility=None, *, due_in: int = 3, actor=None):
        from events.loan_services import loan_create

        w = self.world
        today = timezone.localdate()
        return loan_create(actor=actor or w.rep, kits=[kit], facility=facility or w.st_marys,
                           representative=w.rep, date=today,
                           due_back=today + timezone.timedelta(days=due_in))

    def members(self, kit: Kit) -> list[Device]:
        return list(Device.objects.filter(kit=kit).order_by("pk"))


def build_kits(w: World) -> Kits:
    screw = ProductFactory(product_line=w.line, organization=w.org, reference="SCR-55",
                           description="Pedicle screw 5.5 x 40")
    plate = ProductFactory(product_line=w.line, organization=w.org, reference="PLT-2",
                           description="Plate, 2 hole")
    template = kit_template_create(actor=w.admin, name="Pedicle Screw Set 5.5",
                                   product_line=w.line, items=[(screw, 3), (plate, 2)])
    return Kits(world=w, screw=screw, plate=plate, template=template)


@pytest.fixture
def kits(world) -> Kits:  # noqa: F811
    return build_kits(world)
