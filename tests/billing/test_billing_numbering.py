"""Invoice numbers are sequential, gap-free and unique per organisation under concurrent issuing."""

import threading

import pytest
from django.db import connection

from billing import services as billing
from billing.models import DocumentCounter, Invoice
from billing.services import invoice_issue, purchase_order_record
from events.models import EventStatus
from tests.billing._billing import private_storage  # noqa: F401  (autouse fixture)
from tests.events.conftest import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def ready_to_invoice(world, n: int) -> list:
    events = []
    for i in range(n):
        event = world.event("stocking_order", name=f"SO event {i}")
        world.add(event, world.devices(1))
        world.submit(event)
        purchase_order_record(actor=world.admin, event=event, number=f"PO-{world.org.pk}-{i}")
        events.append(event)
    return events


def test_concurrent_invoices_are_numbered_without_gaps_per_organisation(monkeypatch):
    # Numbering is what is under test: skip the after-commit PDF renders.
    monkeypatch.setattr(billing, "document_store_after_commit", lambda document: None)
    first, second = build_world(), build_world()
    jobs = [(first, e) for e in ready_to_invoice(first, 6)]
    jobs += [(second, e) for e in ready_to_invoice(second, 4)]
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def issue(world, event):
        try:
            barrier.wait(timeout=30)
            invoice = invoice_issue(actor=world.admin, event=event)
            results.append((world.org.pk, invoice.number))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for world, n in [(first, 6), (second, 4)]:
        expected = [f"INV-{i:06d}" for i in range(1, n + 1)]
        issued = sorted(number for org, number in results if org == world.org.pk)
        assert issued == expected
        stored = sorted(
            Invoice.objects.filter(organization=world.org).values_list("number", flat=True)
        )
        assert stored == expected
        counter = DocumentCounter.objects.get(organization=world.org, doc_type="INV")
        assert counter.last_number == n
        assert set(
            world.org.event_set.values_list("status", flat=True)
        ) == {EventStatus.INVOICED}


def test_a_refused_invoice_gives_no_number_back(monkeypatch):
    monkeypatch.setattr(billing, "document_store_after_commit", lambda document: None)
    world = build_world()
    pending = world.event("stocking_order")
    world.add(pending, world.devices(1))
    world.submit(pending)
    with pytest.raises(Exception, match="Record the facility"):
        invoice_issue(actor=world.admin, event=pending)
    (ready,) = ready_to_invoice(world, 1)
    assert invoice_issue(actor=world.admin, event=ready).number == "INV-000001"
