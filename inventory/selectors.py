"""Reads that views and commands share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from inventory.models import Device, DeviceMovement


@dataclass(frozen=True)
class LedgerDiscrepancy:
    device_id: int
    label: str
    problem: str


def ledger_discrepancies(*, organization_id: int | None = None) -> Iterator[LedgerDiscrepancy]:
    """Replay the movement ledger and yield every device whose state differs from it.

    For each device the movements must chain (each starts where the previous one ended, the
    first one is the receipt) and the last one must end in the device's current status,
    custodian and facility. Streams rows, so it runs in constant memory.
    """
    devices = Device.objects.order_by("pk")
    movements = DeviceMovement.objects.order_by("device_id", "at", "id")
    if organization_id is not None:
        devices = devices.filter(organization_id=organization_id)
        movements = movements.filter(organization_id=organization_id)
    moves = movements.values_list(
        "device_id", "from_status", "to_status", "from_custodian_id", "to_custodian_id",
        "from_facility_id", "facility_id",
    ).iterator(chunk_size=5000)
    pending = next(moves, None)
    for device in devices.values_list(
        "pk", "serial", "lot", "status", "custodian_id", "facility_id"
    ).iterator(chunk_size=5000):
        pk, serial, lot, status, custodian_id, facility_id = device
        label = f"SN {serial}" if serial else f"lot {lot} (#{pk})"
        # Skip movements of devices outside this listing (none in practice).
        while pending is not None and pending[0] < pk:
            pending = next(moves, None)
        state = None  # (status, custodian_id, facility_id) after the last movement
        problems = []
        while pending is not None and pending[0] == pk:
            _, from_status, to_status, from_cust, to_cust, from_fac, to_fac = pending
            expected_from = ("", None, None) if state is None else state
            if (from_status, from_cust, from_fac) != expected_from:
                problems.append(
                    f"a {to_status} movement starts from ({from_status or 'nothing'}, custodian "
                    f"{from_cust}, facility {from_fac}) but the ledger had {expected_from}"
                )
            state = (to_status, to_cust, to_fac)
            pending = next(moves, None)
        if state is None:
            problems.append("it has no movements at all")
        elif state != (status, custodian_id, facility_id):
            problems.append(
                f"the ledger says (status {state[0]}, custodian {state[1]}, facility {state[2]}) "
                f"but the device is (status {status}, custodian {custodian_id}, "
                f"facility {facility_id})"
            )
        for problem in problems:
            yield LedgerDiscrepancy(device_id=pk, label=label, problem=problem)
