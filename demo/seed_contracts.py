"""Demo contracts (``seed_demo``): a hospital system covering two facilities and a facility's own
contract, a case priced by each, one PO that does not match its sales order and one that does
(invoiced). Everything through the services."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from billing.po_lines import StatedLine
from billing.services import invoice_issue, purchase_order_record
from billing.submit import event_submit_for_billing
from contracts.models import Contract
from contracts.services import contract_create, contract_price_set, facility_group_create
from events.models import EventLine
from events.services import event_add_devices, event_create
from inventory.models import ProductLine
from inventory.selectors import sellable_devices

SYSTEM_NAME = "Unity Health System"


def _case(*, org, rep, facility, line, name, date, count, rng):
    devices = list(
        sellable_devices(organization_id=org.pk, custodian_id=rep.pk)
        .filter(product__product_line=line).select_related("product__product_line")[:count]
    )
    if not devices:
        return None
    case = event_create(
        actor=rep, event_type="case", name=name, date=date, facility=facility,
        representative=rep, manufacturer=line.manufacturer, product_line=line,
        patient_id=f"MRN-{rng.randint(100000, 999999)}", surgeon="Dr. Amelia Hart",
    )
    event_add_devices(actor=rep, event=case, devices=devices)
    return event_submit_for_billing(actor=rep, event=case, signature_name=str(rep))


def _stated(event) -> list[StatedLine]:
    """What the facility's PO would say: the sales order's lines, per product."""
    lines: dict[int, StatedLine] = {}
    for line in EventLine.objects.filter(event=event).select_related("device__product"):
        product = line.device.product
        before = lines.get(product.pk)
        lines[product.pk] = StatedLine(product, (before.quantity if before else 0) + 1,
                                       line.price)
    return list(lines.values())


def seed_contracts(base: dict, *, backdate=None) -> list[str]:
    """``backdate(event)``: seed_demo's helper dating a submission on its event's date."""
    org, users, facilities = base["org"], base["users"], base["facilities"]
    if Contract.objects.filter(organization=org).exists():
        return []
    rng = random.Random(24)
    admin, rep1 = users["admin"], users["rep1"]
    today = timezone.localdate()
    start = today - datetime.timedelta(days=30)
    spine = ProductLine.objects.get(organization=org, name="Spine – Pedicle Screws")
    system = facility_group_create(actor=admin, name=SYSTEM_NAME,
                                   facilities=[facilities[0], facilities[1]])
    unity = contract_create(actor=admin, name="Unity Health 2026 GPO", group=system,
                            valid_from=start, valid_to=today + datetime.timedelta(days=335))
    contract_price_set(actor=admin, contract=unity, product_line=spine,
                       percent_off=Decimal("12"))
    first = spine.products.order_by("reference").first()
    contract_price_set(actor=admin, contract=unity, product=first,
                       price=(first.unit_price * Decimal("0.80")).quantize(Decimal("0.01")))
    lakeside = contract_create(actor=admin, name="Lakeside Surgery Center pricing",
                               facility=facilities[2], valid_from=start)
    contract_price_set(actor=admin, contract=lakeside, product_line=spine,
                       percent_off=Decimal("8"))

    mismatched = _case(org=org, rep=rep1, facility=facilities[0], line=spine,
                       name="Case 2401 (Unity contract)", date=today - datetime.timedelta(days=2),
                       count=2, rng=rng)
    matched = _case(org=org, rep=rep1, facility=facilities[2], line=spine,
                    name="Case 2402 (Lakeside contract)", date=today - datetime.timedelta(days=1),
                    count=1, rng=rng)
    for event in (mismatched, matched):
        if event is not None and backdate is not None:
            backdate(event)
    notes = [f"contracts: {unity.name} ({SYSTEM_NAME}: {facilities[0].name}, "
             f"{facilities[1].name}), {lakeside.name}"]
    if mismatched is not None:
        stated = _stated(mismatched)
        wrong = [StatedLine(stated[0].product, stated[0].quantity + 1, stated[0].price),
                 *stated[1:]]
        purchase_order_record(actor=admin, event=mismatched, number="PO-UNITY-5521",
                              total=mismatched.sales_order.total, lines=wrong)
        notes.append(f"{mismatched.name}: PO-UNITY-5521 does not match (quantity)")
    if matched is not None:
        purchase_order_record(actor=admin, event=matched, number="PO-LSC-7730",
                              total=matched.sales_order.total, lines=_stated(matched))
        invoice_issue(actor=admin, event=matched)
        notes.append(f"{matched.name}: PO-LSC-7730 matches, invoiced")
    return notes
