"""The API's isolation matrix: every GET endpoint of docs/openapi.yaml × role (admin, manager,
rep) × organisation, and every write on another organisation's rows. Another organisation's
objects are never listed, read, downloaded or changed (404, never 403, so nothing confirms they
exist); inside an organisation a rep sees only what rule 10 gives them. 0 leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from api.models import ApiToken
from api.services import api_token_create
from billing.models import CreditMemo, Invoice, SalesOrder
from billing.services import invoice_issue, purchase_order_record
from events.models import Event
from inventory.models import Device, Kit, Transfer
from inventory.services import devices_transfer
from tests.events.conftest import build_world
from tests.factories import UserFactory
from tests.kits.conftest import build_kits

pytestmark = pytest.mark.django_db

SCHEMA = yaml.safe_load((Path(settings.BASE_DIR) / "docs" / "openapi.yaml").read_text())
GET_PATHS = sorted(path for path, ops in SCHEMA["paths"].items() if "get" in ops)
# Endpoints with no rows of their own (or the organisation-wide documents of admins/managers).
NOT_ROWS = {"/api/v1/me/", "/api/v1/schema/", "/api/v1/accounting/journal/"}


def token(client, user):
    scope = ApiToken.Scope.WRITE if user.can_write else ApiToken.Scope.READ
    secret = api_token_create(actor=user, name="matrix", scope=scope, expires_in_days=1)[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def build_org():
    """One organisation with a row behind every endpoint; ``private`` are the rows its rep
    ``rep`` may see and another rep (``rep3``) may not."""
    world = build_world()
    rep3 = UserFactory(organization=world.org, first_name="Cy", last_name="Other")
    own = world.devices(1)[0]  # rep's custody
    fs = world.facility_stock(2)  # stocking order of rep: sales order, then PO and invoice
    order = Event.objects.get(pk=fs[0].sold_on_id)
    purchase_order_record(actor=world.admin, event=order, number=f"PO-{world.org.pk}")
    invoice_issue(actor=world.admin, event=order)
    ret = world.event("return")
    world.add(ret, [fs[0]])
    world.submit(ret)
    moving = world.devices(1)
    transfer = devices_transfer(actor=world.rep, devices=moving, to_custodian=world.rep2)
    kits = build_kits(world)
    kit = kits.build("K-1")  # Ann's kit, out on her loan
    loan = kits.loan(kit)
    rows = {
        "devices": [own.pk, fs[1].pk], "events": [order.pk, ret.pk],
        "facilities": [world.st_marys.pk], "products": [world.product.pk],
        "sales-orders": [SalesOrder.objects.get(event=order).pk],
        "invoices": [Invoice.objects.get(event=order).pk],
        "credit-memos": [CreditMemo.objects.get(event=ret).pk], "transfers": [transfer.pk],
        "kit-templates": [kits.template.pk], "kits": [kit.pk], "loans": [loan.pk],
    }
    private = {
        "devices": [own.pk], "events": [order.pk, ret.pk], "sales-orders": rows["sales-orders"],
        "invoices": rows["invoices"], "credit-memos": rows["credit-memos"],
        "transfers": [transfer.pk], "kits": [kit.pk], "loans": [loan.pk],
    }
    return world, rep3, rows, private


def urls_for(path: str, rows: dict) -> list[str]:
    collection = path.split("/")[3]
    return [path.replace("{id}", str(pk)) for pk in rows.get(collection, [])]


def listed_ids(client, headers, path) -> set[int]:
    response = client.get(path, {"page_size": 200}, **headers)
    assert response.status_code == 200, (path, response.content)
    return {row["id"] for row in response.json()["results"]}


def test_every_get_endpoint_is_in_the_matrix():
    collections = {path.split("/")[3] for path in GET_PATHS if path not in NOT_ROWS}
    assert collections == {"devices", "events", "facilities", "products", "sales-orders",
                           "invoices", "credit-memos", "transfers", "kit-templates", "kits",
                           "loans"}


def test_api_tenant_and_role_isolation_matrix(client):
    a, a_rep3, a_rows, a_private = build_org()
    b, b_rep3, _b_rows, _b_private = build_org()
    leaks, checked = [], 0

    def expect_hidden(user, rows):
        nonlocal checked
        headers = token(client, user)
        for path in GET_PATHS:
            if path in NOT_ROWS:
                continue
            collection = path.split("/")[3]
            if "{id}" in path:
                for url in urls_for(path, rows):
                    checked += 1
                    status = client.get(url, **headers).status_code
                    if status != 404:
                        leaks.append(f"{user.role} {user.organization_id} GET {url} → {status}")
            else:
                checked += 1
                shown = listed_ids(client, headers, path) & set(rows.get(collection, []))
                if shown:
                    leaks.append(f"{user.role} {user.organization_id} lists {path} {shown}")

    # Another organisation: admin, manager and rep of B see nothing of A.
    for user in (b.admin, b.manager, b.rep, b_rep3):
        expect_hidden(user, a_rows)
    # Inside A: another rep sees none of Ann's custody, events, documents, transfers.
    expect_hidden(a_rep3, a_private)

    # Positive control: A's admin and manager read every row, Ann her own ones.
    for user, rows in ((a.admin, a_rows), (a.manager, a_rows), (a.rep, a_private)):
        headers = token(client, user)
        for path in GET_PATHS:
            for url in urls_for(path, rows) if "{id}" in path else []:
                assert client.get(url, **headers).status_code == 200, (user.role, url)

    # Writes on another organisation's rows: 404, and nothing changed.
    headers = token(client, b.admin)
    event, transfer = a_rows["events"][0], a_rows["transfers"][0]
    kit = a_rows["kits"][0]
    kit_units = list(Device.objects.filter(kit_id=kit).values_list("pk", flat=True))

    def state():
        return (Event.objects.get(pk=event).status, Transfer.objects.get(pk=transfer).status,
                Kit.objects.filter(pk=kit).values_list("status", "custodian", "loan").get(),
                sorted(Device.objects.filter(kit_id=kit).values_list("pk", "status")),
                Invoice.objects.get(pk=a_rows["invoices"][0]).paid_at)

    before = state()
    writes = [
        (f"/api/v1/events/{event}/devices/", {"device_ids": a_rows["devices"]}),
        (f"/api/v1/events/{event}/submit/", {"signature_name": "X", "attestation": True}),
        (f"/api/v1/events/{event}/purchase-order/", {"number": "PO-X"}),
        (f"/api/v1/events/{event}/invoice/", {}),
        (f"/api/v1/transfers/{transfer}/accept/", {}),
        (f"/api/v1/transfers/{transfer}/decline/", {"reason": "no"}),
        (f"/api/v1/events/{event}/devices/remove/", {"device_id": a_rows["devices"][0]}),
        (f"/api/v1/invoices/{a_rows['invoices'][0]}/paid/", {}),
        (f"/api/v1/kits/{kit}/devices/", {"device_ids": a_rows["devices"]}),
        (f"/api/v1/kits/{kit}/transfer/", {"to_custodian": b.rep2.pk}),
        (f"/api/v1/kits/{kit}/check-in/", {"present_ids": kit_units}),
    ]
    for url, body in writes:
        checked += 1
        status = client.post(url, json.dumps(body), content_type="application/json",
                             **headers).status_code
        if status != 404:
            leaks.append(f"B admin POST {url} → {status}")
    # Another organisation's ids in a body read as unknown, like ids that don't exist.
    created = client.post("/api/v1/events/", json.dumps({
        "event_type": "case", "name": "x", "date": "2026-01-01",
        "facility": a.st_marys.pk, "representative": a.rep.pk,
        "manufacturer": a.maker.pk, "product_line": a.line.pk,
    }), content_type="application/json", **headers)
    checked += 1
    assert created.status_code == 400
    fields = created.json()["fields"]
    assert set(fields) == {"facility", "representative", "manufacturer", "product_line"}
    assert all("does not exist" in fields[name][0] for name in fields)
    sent = client.post("/api/v1/transfers/", json.dumps({
        "device_ids": a_rows["devices"], "to_custodian": b.rep2.pk,
    }), content_type="application/json", **headers)
    checked += 1
    assert sent.status_code == 400
    assert sent.json()["errors"] == [f"No device #{pk} is in your inventory."
                                     for pk in a_rows["devices"]]
    # Another organisation's kit, template, facility and rep in a body: unknown as well.
    for url, body in [
        ("/api/v1/kits/", {"template": a_rows["kit-templates"][0], "tag": "K-X",
                           "custodian": a.rep.pk}),
        ("/api/v1/loans/", {"kit_ids": [kit], "facility": a.st_marys.pk,
                            "representative": a.rep.pk, "date": "2026-01-01",
                            "due_back": "2026-01-02"}),
    ]:
        checked += 1
        refused = client.post(url, json.dumps(body), content_type="application/json", **headers)
        assert refused.status_code == 400, (url, refused.content)
        fields = refused.json()["fields"]
        assert fields and all("does not exist" in messages[0] for messages in fields.values())
    assert state() == before

    assert checked > 100
    assert leaks == [], "\n".join(leaks)
