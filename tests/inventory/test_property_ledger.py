"""Property test: random receive / transfer / stocking order / case / adjustment sequences.

A hypothesis state machine drives the services and keeps its own model of every device. After
every step: each device is in exactly one valid state (the one the model predicts, satisfying
the per-row database rules), replaying the ledger gives the current state, every change wrote
exactly one movement, and the commission credits of a sold device sum to round(r·p, 2).
Refused steps (the model knows when a rule forbids them) must raise and change nothing.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing.submit import event_submit_for_billing
from commissions.models import CommissionCredit, CommissionPlan
from events.services import event_add_devices, event_create
from inventory.models import Device, DeviceMovement, DeviceStatus, Transfer
from inventory.selectors import ledger_discrepancies
from inventory.services import (
    AdjustmentLine,
    devices_transfer,
    stock_adjustment_create,
    transfer_accept,
    transfer_decline,
)
from tests.events.conftest import build_world
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

A, F, C, R = (DeviceStatus.AVAILABLE, DeviceStatus.FACILITY_STOCK, DeviceStatus.CONSUMED,
              DeviceStatus.REMOVED)
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Model:
    """What the machine believes about one device."""

    status: str
    custodian: int | None
    facility: int | None = None
    price: Decimal = Decimal("0")
    in_transit: int | None = None  # pending transfer pk
    seller: int | None = None  # the rep whose event sold it
    by_stocking_order: bool = False
    used: bool = False
    removed_from: tuple = field(default=(None, None))  # (custodian, facility)
    changes: int = 1  # ledger rows expected (the receipt)


class DeviceLifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.world = w = build_world()
        self.products = [w.product, ProductFactory(product_line=w.line, organization=w.org,
                                                   unit_price=Decimal("333.33"))]
        self.reps = [w.rep, w.rep2]
        self.facilities = [w.st_marys, w.mercy]
        # Default 10 % with a 60 % stocking share; rep2 has 5 % and 50 %.
        self.plans = {w.rep.pk: (Decimal("0.10"), Decimal("0.60")),
                      w.rep2.pk: (Decimal("0.05"), Decimal("0.50"))}
        CommissionPlan.objects.create(organization=w.org, rate=Decimal("0.10"),
                                      stocking_share=Decimal("0.60"))
        CommissionPlan.objects.create(organization=w.org, rep=w.rep2, rate=Decimal("0.05"),
                                      stocking_share=Decimal("0.50"))
        self.model: dict[int, Model] = {}
        self.pending: list[int] = []

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------------------------

    def pick_devices(self, data, allowed=lambda pk: True, max_size=3) -> list[int]:
        """Mostly devices the rules allow (so steps succeed), sometimes any device at all."""
        good = sorted(pk for pk in self.model if allowed(pk))
        pool = good if good and data.draw(st.integers(0, 3)) else sorted(self.model)
        return data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=max_size,
                                  unique=True))

    def refused(self, action):
        """A step the rules forbid: it raises ValidationError and changes nothing."""
        before = self.snapshot()
        with pytest.raises(ValidationError):
            action()
        assert self.snapshot() == before

    @staticmethod
    def snapshot():
        return (
            sorted(Device.objects.values_list("pk", "status", "custodian_id", "facility_id",
                                              "sold_on_id", "used_in_id", "pending_transfer_id")),
            DeviceMovement.objects.count(), CommissionCredit.objects.count(),
        )

    def sellable_by(self, pk: int, rep_id: int) -> bool:
        m = self.model[pk]
        return m.status == A and m.custodian == rep_id and m.in_transit is None

    def run_event(self, event_type, rep, facility, pks, *, facility_stock_only=False):
        w = self.world
        event = event_create(
            actor=w.admin, event_type=event_type, name="prop", date=timezone.localdate(),
            facility=facility, representative=rep, manufacturer=w.maker, product_line=w.line,
            patient_id="PT-9", facility_stock_only=facility_stock_only,
        )
        devices = list(Device.objects.filter(pk__in=pks))

        def go():
            event_add_devices(actor=w.admin, event=event, devices=devices)
            event_submit_for_billing(actor=rep, event=event, signature_name="sig")

        return go

    # --- rules ---------------------------------------------------------------------------------

    @initialize()
    def some_stock_to_start_with(self):
        """Each rep holds devices of both products; St. Mary's has two on its shelf."""
        for holder in (0, 1):
            for product in (0, 1):
                self.receive(2, holder, product)
        first = sorted(self.model)[:2]
        go = self.run_event("stocking_order", self.world.rep, self.world.st_marys, first)
        go()
        for pk in first:
            m = self.model[pk]
            m.status, m.custodian, m.facility = F, None, self.world.st_marys.pk
            m.seller, m.by_stocking_order, m.changes = self.world.rep.pk, True, m.changes + 1

    @rule(count=st.integers(1, 3), holder=st.integers(0, 1), product=st.integers(0, 1))
    def receive(self, count, holder, product):
        rep, product = self.reps[holder], self.products[product]
        for device in self.world.devices(count, custodian=rep, product=product):
            self.model[device.pk] = Model(status=A, custodian=rep.pk, price=product.unit_price)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), pending=st.booleans())
    def transfer(self, data, pending):
        [pk] = self.pick_devices(
            data, lambda pk: self.model[pk].status == A and not self.model[pk].in_transit, 1
        )
        m = self.model[pk]
        to = self.world.rep2 if m.custodian == self.world.rep.pk else self.world.rep
        device = Device.objects.get(pk=pk)
        if m.status != A or m.in_transit:
            self.refused(lambda: devices_transfer(actor=self.world.admin, devices=[device],
                                                  to_custodian=to))
            return
        if pending:  # the holder sends it; it is in transit until the recipient answers
            sender = next(r for r in self.reps if r.pk == m.custodian)
            transfer = devices_transfer(actor=sender, devices=[device], to_custodian=to)
            m.in_transit = transfer.pk
            self.pending.append(pk)
        else:
            devices_transfer(actor=self.world.admin, devices=[device], to_custodian=to)
            m.custodian, m.changes = to.pk, m.changes + 1

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), accept=st.booleans())
    def answer_transfer(self, data, accept):
        pk = data.draw(st.sampled_from(self.pending))
        self.pending.remove(pk)
        m = self.model[pk]
        transfer = Transfer.objects.get(pk=m.in_transit)
        recipient = transfer.to_custodian
        if accept:
            transfer_accept(actor=recipient, transfer=transfer)
            m.custodian, m.changes = recipient.pk, m.changes + 1
        else:
            transfer_decline(actor=recipient, transfer=transfer, reason="wrong size")
        m.in_transit = None

    @precondition(lambda self: self.model)
    @rule(data=st.data(), who=st.integers(0, 1), where=st.integers(0, 1))
    def stocking_order(self, data, who, where):
        rep, facility = self.reps[who], self.facilities[where]
        pks = self.pick_devices(data, lambda pk: self.sellable_by(pk, rep.pk))
        go = self.run_event("stocking_order", rep, facility, pks)
        if not all(self.sellable_by(pk, rep.pk) for pk in pks):
            self.refused(go)
            return
        go()
        for pk in pks:
            m = self.model[pk]
            m.status, m.custodian, m.facility = F, None, facility.pk
            m.seller, m.by_stocking_order, m.changes = rep.pk, True, m.changes + 1

    @precondition(lambda self: self.model)
    @rule(data=st.data(), who=st.integers(0, 1), where=st.integers(0, 1))
    def case_with_rep_inventory(self, data, who, where):
        rep, facility = self.reps[who], self.facilities[where]
        pks = self.pick_devices(data, lambda pk: self.sellable_by(pk, rep.pk))
        go = self.run_event("case", rep, facility, pks)
        if not all(self.sellable_by(pk, rep.pk) for pk in pks):
            self.refused(go)
            return
        go()
        for pk in pks:
            m = self.model[pk]
            m.status, m.custodian, m.facility = C, None, facility.pk
            m.seller, m.used, m.changes = rep.pk, True, m.changes + 1

    @precondition(lambda self: self.model)
    @rule(data=st.data(), who=st.integers(0, 1), where=st.integers(0, 1))
    def case_with_facility_stock(self, data, who, where):
        # Mostly at a facility that has stock on its shelf.
        stocked = sorted({m.facility for m in self.model.values() if m.status == F})
        if stocked and data.draw(st.integers(0, 3)):
            where = [f.pk for f in self.facilities].index(data.draw(st.sampled_from(stocked)))
        rep, facility = self.reps[who], self.facilities[where]

        def on_shelf(pk):
            return self.model[pk].status == F and self.model[pk].facility == facility.pk

        pks = self.pick_devices(data, on_shelf)
        go = self.run_event("case", rep, facility, pks, facility_stock_only=True)
        if not all(on_shelf(pk) for pk in pks):
            self.refused(go)
            return
        go()
        for pk in pks:
            m = self.model[pk]
            m.status, m.used, m.changes = C, True, m.changes + 1

    @precondition(lambda self: self.model)
    @rule(data=st.data(), effect=st.sampled_from(["remove", "restore", "move_to_facility"]),
          where=st.integers(0, 1))
    def adjustment(self, data, effect, where):
        # Mostly restore what was removed (found again) when something was.
        if any(m.status == R for m in self.model.values()) and data.draw(st.booleans()):
            effect = "restore"
        facility = self.facilities[where]

        def allowed(pk):
            m = self.model[pk]
            return {
                "remove": m.status in (A, F) and not m.in_transit,
                "restore": m.status == R,
                "move_to_facility": m.status == F and m.facility != facility.pk,
            }[effect]

        [pk] = self.pick_devices(data, allowed, max_size=1)
        m = self.model[pk]
        device = Device.objects.get(pk=pk)
        line = AdjustmentLine(device=device, effect=effect,
                              to_facility=facility if effect == "move_to_facility" else None)

        def go():
            stock_adjustment_create(actor=self.world.admin, reason="cycle_count", lines=[line])

        if not allowed(pk):
            self.refused(go)
            return
        go()
        m.changes += 1
        if effect == "remove":
            m.removed_from = (m.custodian, m.facility)
            m.status, m.custodian, m.facility = R, None, None
        elif effect == "restore":
            # A sold device comes back as facility stock, never as available inventory.
            m.status = F if m.seller else A
            m.custodian, m.facility = m.removed_from
        else:
            m.facility = facility.pk

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def each_device_is_in_exactly_the_predicted_valid_state(self):
        rows = Device.objects.filter(organization=self.world.org).values_list(
            "pk", "status", "custodian_id", "facility_id", "sold_on_id", "used_in_id",
            "pending_transfer_id",
        )
        seen = set()
        for pk, status, custodian, facility, sold_on, used_in, pending in rows:
            seen.add(pk)
            m = self.model[pk]
            assert (status, custodian, facility, pending) == (
                m.status, m.custodian, m.facility, m.in_transit
            )
            assert status in DeviceStatus.values
            if status == A:
                assert custodian and not facility and not sold_on and not used_in
            elif status == F:
                assert facility and sold_on and not custodian and not used_in
            elif status == C:
                assert sold_on and used_in and not custodian
            else:
                assert not custodian and not facility and not used_in
            assert pending is None or status == A
            assert (sold_on is not None) == (m.seller is not None)
        assert seen == set(self.model)

    @invariant()
    def the_ledger_replays_to_the_current_state_one_row_per_change(self):
        assert list(ledger_discrepancies(organization_id=self.world.org.pk)) == []
        counts = dict(
            DeviceMovement.objects.filter(organization=self.world.org).values_list("device_id")
            .annotate(n=Count("id"))
        )
        assert counts == {pk: m.changes for pk, m in self.model.items()}

    @invariant()
    def commission_credits_sum_to_r_times_p_per_sold_device(self):
        sums = dict(
            CommissionCredit.objects.filter(organization=self.world.org)
            .values_list("device_id").annotate(total=Sum("amount"))
        )
        for pk, m in self.model.items():
            if m.seller is None:
                assert pk not in sums
                continue
            rate, share = self.plans[m.seller]
            full = cents(rate * m.price)
            expected = cents(share * rate * m.price) if m.by_stocking_order and not m.used \
                else full
            assert sums.get(pk, Decimal("0")) == expected, (pk, m)


def test_random_operation_sequences_keep_the_invariants(db):
    run_state_machine_as_test(
        DeviceLifecycle,
        settings=settings(max_examples=25, stateful_step_count=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.filter_too_much]),
    )
