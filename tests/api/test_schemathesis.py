"""Schemathesis against the live API (a real HTTP server on a free port): every operation of
docs/openapi.yaml, as a rep and as an admin with their tokens, a few generated examples each.
No response is a 5xx and every documented response matches the schema.

Generated ids are mostly swapped for ids that exist in the rep's organisation (paths and bodies),
so the examples reach the services (create, add, submit, PO, transfers), not just 404s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import schemathesis
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.models import ApiToken
from api.services import api_token_create
from billing.models import SalesOrder
from events.models import Event
from tests.events.conftest import build_world
from tests.kits.conftest import build_kits

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = schemathesis.openapi.from_path(Path(settings.BASE_DIR) / "docs" / "openapi.yaml")
EXAMPLES = 5
BODY_REFS = {
    "facility": "facilities", "representative": "users", "manufacturer": "manufacturers",
    "product_line": "product_lines", "product": "products", "custodian": "users",
    "to_custodian": "users", "template": "kit_templates",
}
# Lists of ids in bodies, and the pool each draws from.
LIST_REFS = {"device_ids": "devices", "kit_ids": "kits", "present_ids": "kit_units",
             "lost_ids": "kit_units"}


def known_ids(world) -> dict[str, list[int]]:
    devices = world.devices(3) + world.devices(2, custodian=world.rep2)
    world.stocking_order(world.devices(1))
    world.event("case", patient_id="PT-9")
    kits = build_kits(world)
    home, away = kits.build("K-1"), kits.build("K-2")
    loan = kits.loan(away)
    return {
        "kits": [home.pk, away.pk], "kit_templates": [kits.template.pk], "loans": [loan.pk],
        "kit_units": [d.pk for d in kits.members(home) + kits.members(away)],
        "devices": [d.pk for d in devices], "facilities": [world.st_marys.pk, world.mercy.pk],
        "users": [world.rep.pk, world.rep2.pk], "manufacturers": [world.maker.pk],
        "product_lines": [world.line.pk], "products": [world.product.pk],
        "events": list(Event.objects.values_list("pk", flat=True)),
        "sales_orders": list(SalesOrder.objects.values_list("pk", flat=True)),
    }


def with_known_ids(case, draw, ids):
    """Swap some generated ids for real ones of the organisation."""
    if "id" in (case.path_parameters or {}) and draw(st.integers(0, 3)):
        collection = case.path.split("/")[3].replace("-", "_")
        pool = ids.get(collection) or ids["events"] + ids["devices"]
        case.path_parameters["id"] = draw(st.sampled_from(pool))
    if isinstance(case.body, dict):
        for name, collection in BODY_REFS.items():
            if name in case.body and draw(st.integers(0, 7)):
                case.body[name] = draw(st.sampled_from(ids[collection]))
        for name, collection in LIST_REFS.items():
            if name in case.body and draw(st.integers(0, 3)):
                case.body[name] = draw(st.lists(st.sampled_from(ids[collection]),
                                                min_size=1, max_size=2))
    return case


def test_every_operation_as_a_rep_and_an_admin(live_server, settings):
    settings.API_THROTTLE_RATE = "100000/min"
    world = build_world()
    ids = known_ids(world)
    tokens = {
        role: api_token_create(actor=user, name="schemathesis", scope=ApiToken.Scope.WRITE,
                               expires_in_days=1)[1]
        for role, user in (("rep", world.rep), ("admin", world.admin))
    }
    session = requests.Session()
    operations = [result.ok() for result in SCHEMA.get_all_operations()]
    assert len(operations) >= 30
    calls = {"count": 0, "statuses": {}}

    def run(operation, role: str, token: str) -> None:
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None,
                             derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), draw=st.data())
        def check(case, draw):
            case = with_known_ids(case, draw.draw, ids)
            response = case.call_and_validate(
                base_url=live_server.url, session=session,
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
            calls["count"] += 1
            key = f"{role} {operation.method.upper()} {operation.path} {response.status_code}"
            calls["statuses"][key] = calls["statuses"].get(key, 0) + 1

        check()

    for operation in operations:
        for role, token in tokens.items():
            run(operation, role, token)

    assert calls["count"] >= len(operations) * 2
    succeeded = {key for key in calls["statuses"] if key.split()[-1].startswith("2")}
    # The examples reached real objects and the services, not only refusals.
    Path("/tmp/api-schemathesis-statuses.txt").write_text(
        "\n".join(f"{k} ×{v}" for k, v in sorted(calls["statuses"].items())))
    assert any("POST /api/v1/events/ 201" in key for key in succeeded), calls["statuses"]
    assert any("GET /api/v1/devices/{id}/ 200" in key for key in succeeded)
    assert any("GET /api/v1/kits/{id}/ 200" in key for key in succeeded)
    assert any("GET /api/v1/loans/{id}/ 200" in key for key in succeeded)
