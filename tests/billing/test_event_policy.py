"""The event-type policy table (events/policy.py) and the one submit path that reads it
(billing/submit.py): every event type has its policy, every name a policy uses has its billing
side, and submitting each kind of event does what its row declares."""

import pytest

from billing.models import CreditMemo, SalesOrder
from billing.submit import COMMISSION_EFFECTS, DOCUMENTS
from events.models import EVENT_TRANSITIONS, EventLine, EventStatus, EventType
from events.policy import POLICIES, CommissionEffect, Document, policy_for
from inventory.lifecycle import TRANSITIONS
from inventory.models import DeviceMovement, DeviceStatus
from tests.billing._billing import private_storage  # noqa: F401  (autouse fixture)


def test_every_event_type_has_its_policy():
    """A new ``EventType`` member (a kit's LOAN, say) fails here until ``events/policy.py``
    has its ``EventPolicy`` row (docs/architecture.md, "How to add an event type")."""
    kinds = [(p.event_type, p.facility_stock) for p in POLICIES]
    assert len(kinds) == len(set(kinds)), "one policy per event type (and facility-stock switch)"
    missing = set(EventType.values) - {p.event_type for p in POLICIES}
    assert not missing, f"add an EventPolicy to events/policy.py for {sorted(missing)}"
    assert {t for t, stock in kinds if stock} == {EventType.CASE}  # only a case uses stock


def test_every_name_a_policy_uses_has_its_billing_side():
    assert set(DOCUMENTS) == set(Document.values)
    assert set(COMMISSION_EFFECTS) == set(CommissionEffect.values)
    for policy in POLICIES:
        assert policy.document in DOCUMENTS and policy.commission in COMMISSION_EFFECTS


def test_each_policy_names_moves_and_statuses_that_exist():
    submit_moves = {t.kind: t for t in TRANSITIONS}
    for policy in POLICIES:
        for kind in policy.transitions():
            assert kind in submit_moves, f"{kind} has no row in inventory.lifecycle.TRANSITIONS"
        assert policy.next_status in EVENT_TRANSITIONS[EventStatus.DRAFT]
        assert policy.line_kind in EventLine.Kind.values


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.event_type}-{p.facility_stock}")
def test_submitting_each_kind_of_event_does_what_its_policy_declares(world, policy):
    if policy.event_type == EventType.RETURN or policy.facility_stock:
        devices = world.facility_stock(2)
    else:
        devices = world.devices(2)
    event = world.event(policy.event_type, facility_stock_only=policy.facility_stock)
    assert policy_for(event) is policy
    world.add(event, devices)
    if policy.destruction:  # one line of each move the policy makes
        EventLine.objects.filter(event=event, device=devices[1]).update(damaged=True)
    submitted = world.submit(event)

    assert submitted.status == policy.next_status
    assert submitted.is_billable == (policy.next_status == EventStatus.PENDING_PO)
    model, related = {Document.SALES_ORDER: (SalesOrder, "sales_order"),
                      Document.CREDIT_MEMO: (CreditMemo, "credit_memo")}[policy.document]
    assert getattr(submitted, related) == model.objects.get(event=event)
    lines = list(EventLine.objects.filter(event=event).order_by("device_id"))
    assert {line.kind for line in lines} == {policy.line_kind}
    assert all(line.committed for line in lines)
    moves = dict(DeviceMovement.objects.filter(event=event).values_list("device_id", "kind"))
    expected = {devices[0].pk: policy.transition,
                devices[1].pk: policy.destruction or policy.transition}
    assert moves == expected
    # The lifecycle rows set the fields: where each device is now is the row's target.
    targets = {t.kind: t.target for t in TRANSITIONS}
    for device in devices:
        device.refresh_from_db()
        assert device.status == targets[moves[device.pk]]
        if device.status == DeviceStatus.AVAILABLE:
            assert (device.custodian, device.facility, device.sold_on) == (world.rep, None, None)
        if device.status == DeviceStatus.CONSUMED:
            assert device.used_in_id == event.pk and device.custodian_id is None
