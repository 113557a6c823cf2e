"""The regional manager in the isolation matrix: every URL of ours (not the Django admin) with the
ids of another region's objects, and every list, CSV and report, read by the regional manager of
the North region. The South region's facility, reps, devices, events, documents, transfers, kits
and loans are never shown (404 on their pages, absent from lists, CSVs and totals). 0 leaks.

The rule (consignment/regions.py): a region's facilities, its reps, the devices its reps hold or
its facilities have (or sold or used on its events), the events at its facilities or by its reps.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from billing.models import CreditMemo, Invoice, SalesOrder
from billing.services import invoice_issue, purchase_order_record
from consignment.models import ParLevel, Region
from consignment.services import region_save
from events.models import Event
from inventory.models import Device, Kit, Transfer
from inventory.services import devices_transfer
from tests.events.conftest import build_world
from tests.factories import UserFactory
from tests.kits.conftest import build_kits
from tests.security.test_hostile_input import url_patterns

pytestmark = pytest.mark.django_db

# Every page (arity 0) and the CSV exports of the lists and reports.
EXPORTS = [
    ("inventory:device_export", {}),
    *[("reporting:index", {"export": e})
      for e in ("stock", "low", "expiring", "monthly", "where_used", "commissions")],
    *[("reporting:sales", {"export": e}) for e in ("rep", "facility", "product_line", "month")],
    *[("reporting:usage", {"export": e})
      for e in ("facility", "surgeon", "product", "month", "cover")],
    *[("reporting:contracts", {"export": e}) for e in ("contracts", "overrides")],
    ("events:list", {"status": "draft"}),
    ("events:agenda", {"week": "next"}),
]


def build_regions():
    """North: St. Mary's, Ann (rep) and Rhea (regional manager). South: Mercy General, Bob and
    Cy (reps), with a row behind every page: custody, facility stock, a submitted case, a return,
    a PO and an invoice, a transfer, a kit on loan, a scheduled case. Returns the world, Rhea,
    the South's ids per URL namespace and the words that name the South."""
    w = build_world()
    rhea = UserFactory(organization=w.org, role=User.Role.REGIONAL_MANAGER, first_name="Rhea",
                       last_name="Regional", username="rhea")
    cy = UserFactory(organization=w.org, first_name="Cy", last_name="Southpaw")
    region_save(actor=w.admin, region=Region(organization=w.org, name="North"),
                facilities=[w.st_marys], members=[w.rep, rhea])
    region_save(actor=w.admin, region=Region(organization=w.org, name="South"),
                facilities=[w.mercy], members=[w.rep2, cy])
    bob = w.rep2

    # North: Ann's custody, facility stock at St. Mary's, a submitted case (the positive control).
    north_own = w.devices(1)[0]
    north_stock = w.facility_stock(2)
    north_case = w.event("case", name="North case")
    w.add(north_case, w.devices(1))
    w.submit(north_case)

    # South.
    own = w.devices(2, custodian=bob)
    sold = w.devices(3, custodian=bob)
    order = w.event("stocking_order", rep=bob, facility=w.mercy, name="South order")
    w.add(order, sold)
    w.submit(order)
    purchase_order_record(actor=w.admin, event=order, number="PO-SOUTH")
    invoice_issue(actor=w.admin, event=order)
    ret = w.event("return", rep=bob, facility=w.mercy, name="South return")
    w.add(ret, [Device.objects.get(pk=sold[0].pk)])
    w.submit(ret)
    case = w.event("case", rep=bob, facility=w.mercy, name="South case", patient_id="PT-SOUTH")
    w.add(case, [own[0]])
    w.submit(case)
    used = w.event("case", rep=bob, facility=w.mercy, name="South stock case",
                   patient_id="PT-SOUTH2", facility_stock_only=True)
    w.add(used, [Device.objects.get(pk=sold[1].pk)])
    w.submit(used)
    draft = w.event("case", rep=bob, facility=w.mercy, name="South draft")
    moving = w.devices(1, custodian=bob)
    transfer = devices_transfer(actor=bob, devices=moving, to_custodian=cy)
    kits = build_kits(w)
    kit = kits.build("K-SOUTH", custodian=bob)
    from events.loan_services import loan_create

    today = timezone.localdate()
    loan = loan_create(actor=bob, kits=[kit], facility=w.mercy, representative=bob, date=today,
                       due_back=today + datetime.timedelta(days=3), name="South loan")
    from events.schedule_services import case_schedule

    tomorrow = timezone.now() + datetime.timedelta(days=1)
    scheduled = case_schedule(actor=bob, name="South scheduled", scheduled_at=tomorrow,
                              facility=w.mercy, representative=bob, manufacturer=w.maker,
                              product_line=w.line)
    ParLevel.objects.create(organization=w.org, facility=w.mercy, product=w.product, minimum=9)

    events = [order.pk, ret.pk, case.pk, used.pk, draft.pk, loan.pk, scheduled.pk]
    devices = [d.pk for d in (*own, *sold, *moving)] + list(
        Device.objects.filter(kit=kit).values_list("pk", flat=True))
    ids = {
        "events:loan": [loan.pk], "events:request": [], "events": events, "billing": events,
        "inventory:transfer": [transfer.pk], "inventory:device": devices,
        "inventory:kit_template": [], "inventory:kit": [kit.pk],
        "inventory:adjustment": [], "consignment": [w.mercy.pk], "reporting": events,
        "recalls": [], "contracts": [], "commissions": [], "api": [],
        "api:device": devices, "api:event": events, "api:kit-detail": [kit.pk],
        "api:loan": [loan.pk], "api:transfer": [transfer.pk], "api:facility": [w.mercy.pk],
    }
    names = ["Mercy General", "Bob Cover", "Cy Southpaw", "South order", "South return",
             "South case", "South stock case", "South draft", "South loan", "South scheduled",
             "K-SOUTH", "PT-SOUTH", "PO-SOUTH"]
    names += list(Device.objects.filter(pk__in=devices).values_list("serial", flat=True))
    assert SalesOrder.objects.filter(event=order).exists()
    assert Invoice.objects.filter(event=order).exists() and CreditMemo.objects.filter(
        event=ret).exists()
    assert Transfer.objects.filter(pk=transfer.pk).exists() and Kit.objects.get(pk=kit.pk).loan_id
    north = {"device": [north_own.pk, north_stock[0].pk], "event": [north_case.pk],
             "facility": [w.st_marys.pk]}
    return w, rhea, ids, names, north


def leaked(text: str, names: list[str]) -> list[str]:
    return [name for name in names
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]


def test_the_regional_manager_sees_nothing_of_another_region(client):
    w, rhea, ids, names, north = build_regions()
    client.force_login(rhea)
    leaks, checked = [], 0
    for name, arity in url_patterns():
        if arity == 0:
            if name.startswith("api:") or name == "ops:metrics":
                continue
            urls = [reverse(name)]
        else:
            key = next((k for k in sorted(ids, key=len, reverse=True) if name.startswith(k)),
                       None)
            if key is None:
                continue
            urls = [reverse(name, args=[pk, pk][:arity]) for pk in ids[key]]
        for url in urls:
            checked += 1
            response = client.get(url)
            status = response.status_code
            if arity and status not in (403, 404, 405):  # 405: a POST-only URL
                leaks.append(f"GET {url} → {status}")
            elif status == 200 and not response.get("Content-Type", "").startswith(
                    "application/pdf"):
                found = leaked(_text(response), names)
                if found:
                    leaks.append(f"GET {url} shows {found}")
    for name, params in EXPORTS:
        checked += 1
        response = client.get(reverse(name), params)
        assert response.status_code == 200, (name, params, response.status_code)
        found = leaked(_text(response), names)
        if found:
            leaks.append(f"GET {reverse(name)} {params} shows {found}")
    # The calendar feed (its secret URL is the credential): the North's cases only.
    from events.schedule_services import calendar_feed_reset

    feed = client.get(reverse("events:calendar_feed", args=[calendar_feed_reset(actor=rhea)]))
    checked += 1
    assert feed.status_code == 200
    if leaked(_text(feed), names):
        leaks.append(f"calendar feed shows {leaked(_text(feed), names)}")
    assert checked > 100
    assert leaks == [], "\n".join(leaks)

    # Positive control: the North's own rows open for Rhea.
    for pk in north["device"]:
        assert client.get(reverse("inventory:device_detail", args=[pk])).status_code == 200
    for pk in north["event"]:
        page = client.get(reverse("events:detail", args=[pk]))
        assert page.status_code == 200
        assert "PT-1001" in page.content.decode()  # patient IDs: as a manager sees them
    assert client.get(reverse("consignment:facility_detail",
                              args=[north["facility"][0]])).status_code == 200


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def test_a_regional_manager_changes_nothing(client):
    w, rhea, ids, names, north = build_regions()
    client.force_login(rhea)
    before = (sorted(Event.objects.values_list("pk", "status")),
              sorted(Device.objects.values_list("pk", "status", "custodian_id")))
    for url in (reverse("events:create"), reverse("inventory:transfer_create"),
                reverse("inventory:receiving"), reverse("events:schedule"),
                reverse("billing:submit", args=[north["event"][0]]),
                reverse("commissions:statement"), reverse("recalls:list")):
        assert client.post(url, {"name": "x"}).status_code == 403, url
    refused = client.get(reverse("events:create"))
    assert "Regional managers can look at their region but change nothing" in \
        refused.content.decode()
    page = client.get(reverse("inventory:device_list")).content.decode()
    assert reverse("inventory:transfer_create") not in page
    assert reverse("events:create") not in page
    assert before == (sorted(Event.objects.values_list("pk", "status")),
                      sorted(Device.objects.values_list("pk", "status", "custodian_id")))
