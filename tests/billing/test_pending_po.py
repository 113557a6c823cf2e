"""Pending PO ageing: the list (sorted, filtered, CSV, bounded queries), the dashboard figure,
and the reminder emails queued by ``send_po_reminders`` and sent by the worker."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from billing.ageing import pending_po_events, pending_po_summary
from billing.services import purchase_order_record
from tests.billing._billing import private_storage  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


def ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


@pytest.fixture
def waiting(world):
    """Three submitted events waiting for a PO (30, 20 and 3 days old) and one with its PO."""
    world.rep.email, world.rep2.email = "ann@example.com", "bob@example.com"
    world.rep.save(), world.rep2.save()
    world.admin.email = "boss@example.com"
    world.admin.save()
    events = {}
    for name, days, n, rep, facility in [
        ("Old knee", 30, 2, world.rep, world.st_marys),
        ("Mid hip", 20, 1, world.rep2, world.mercy),
        ("New spine", 3, 1, world.rep, world.st_marys),
        ("Has PO", 40, 1, world.rep, world.mercy),
    ]:
        event = world.event("case", name=name, date=ago(days), rep=rep, facility=facility)
        world.add(event, world.devices(n, custodian=rep))
        events[name] = world.submit(event)
    purchase_order_record(actor=world.admin, event=events["Has PO"], number="PO-1")
    return events


def test_the_list_sorts_filters_and_sums(client, world, waiting, django_assert_max_num_queries):
    assert [e.name for e in pending_po_events(user=world.admin)] == [
        "Old knee",
        "Mid hip",
        "New spine",
    ]
    assert [e.name for e in pending_po_events(user=world.admin, sort="-amount")][0] == "Old knee"
    summary = pending_po_summary(user=world.admin)
    assert (summary.count, summary.amount, summary.oldest.name, summary.oldest_days) == (
        3,
        Decimal("4000.00"),
        "Old knee",
        30,
    )
    client.force_login(world.admin)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("billing:pending_po"), {"sort": "-days"})
    html = page.content.decode()
    assert [e.name for e in page.context["page"]] == ["New spine", "Mid hip", "Old knee"]
    assert [e.days for e in page.context["page"]] == [3, 20, 30]
    assert "$4,000.00" in html and "Has PO" not in html
    assert page.context["by_facility"] == [  # one pass groups by facility and by rep
        {"name": "St. Mary's", "count": 2, "amount": Decimal("3000.00"), "days": 30},
        {"name": world.mercy.name, "count": 1, "amount": Decimal("1000.00"), "days": 20},
    ]
    assert page.context["by_rep"] == [
        {"name": world.rep.get_full_name(), "count": 2, "amount": Decimal("3000.00"), "days": 30},
        {"name": world.rep2.get_full_name(), "count": 1, "amount": Decimal("1000.00"), "days": 20},
    ]
    filtered = client.get(reverse("billing:pending_po"), {"facility": world.mercy.pk})
    assert [e.name for e in filtered.context["page"]] == ["Mid hip"]
    csv = b"".join(client.get(reverse("billing:pending_po_export")).streaming_content).decode()
    assert csv.splitlines()[0].startswith("Event,Date,Days since case,Facility")
    assert "Old knee" in csv and ",30," in csv and "Has PO" not in csv
    home = client.get(reverse("home")).content.decode()
    assert "Waiting for a purchase order" in home and "Old knee" in home


def test_the_page_query_count_does_not_grow(client, world, waiting, django_assert_max_num_queries):
    client.force_login(world.admin)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("billing:pending_po"))
    for i in range(4):
        event = world.event("stocking_order", name=f"More {i}", date=ago(9))
        world.add(event, world.devices(1))
        world.submit(event)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("billing:pending_po"))
    assert len(page.context["page"]) == 7


def test_reps_and_managers(client, world, waiting):
    client.force_login(world.rep)
    assert client.get(reverse("billing:pending_po")).status_code == 403
    client.force_login(world.manager)
    assert client.get(reverse("billing:pending_po")).status_code == 200


def run_worker() -> int:
    rows = list(DBTaskResult.objects.filter(status="READY").order_by("enqueued_at"))
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    for row in rows:
        worker.run_task(row)
    return len(rows)


def test_reminders_are_queued_then_sent_by_the_worker(settings, world, waiting):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.PENDING_PO_REMINDER_DAYS = 14
    call_command("send_po_reminders", "--today", TODAY.isoformat())
    assert mail.outbox == []  # queued, not sent: the worker sends
    assert run_worker() == 2
    by_to = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_to) == ["ann@example.com", "bob@example.com"]
    ann = by_to["ann@example.com"]
    assert ann.subject == "Pending PO: 1 event of yours waiting more than 14 days"
    assert "Old knee · St. Mary's · case" in ann.body and "(30 days)" in ann.body
    assert "New spine" not in ann.body and "Mid hip" not in ann.body

    mail.outbox.clear()
    call_command("send_po_reminders", "--today", TODAY.isoformat(), "--admins")
    assert run_worker() == 1
    [summary] = mail.outbox
    assert summary.to == ["boss@example.com"]
    assert "Old knee" in summary.body and "Mid hip" in summary.body
    assert "$3,000.00 in all" in summary.body
