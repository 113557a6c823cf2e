"""A transactional outbox: how a service announces what happened without knowing who listens.

A service calls ``emit(kind=..., organization_id=..., payload=...)`` inside its transaction; the
row commits (or rolls back) with the change it describes. After commit a task
(``core.outbox.outbox_dispatch``, run by the worker) passes the message to every consumer
registered with ``register`` — the API app registers its webhook fan-out in its ``ready()``.
Lower apps never import the consumers, so the import layers stay one way, and no Django signal
carries a business rule.

The kinds are declared here, once; a consumer offers exactly these.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models, transaction
from django.tasks import task
from django.utils import timezone


class OutboxKind(models.TextChoices):
    EVENT_SUBMITTED = "event.submitted", "Event submitted for billing"
    SALES_ORDER_ISSUED = "sales_order.issued", "Sales order issued"
    INVOICE_ISSUED = "invoice.issued", "Invoice issued"
    CREDIT_MEMO_ISSUED = "credit_memo.issued", "Credit memo issued"
    PURCHASE_ORDER_RECORDED = "purchase_order.recorded", "Purchase order recorded"
    TRANSFER_ANSWERED = "transfer.answered", "Transfer accepted or declined"
    # Emitted when a recall opens (inventory.recall_services.recall_open): the recall and its
    # units in scope.
    DEVICE_RECALLED = "device.recalled", "Device recalled"
    # A facility's stock of a product fell below its par level (inventory.stock_alerts).
    STOCK_LOW = "stock.low", "Stock low (below a par level)"


_consumers: list[Callable] = []


def register(consumer: Callable) -> None:
    """``consumer(message)`` is called for every dispatched message (once per process)."""
    if consumer not in _consumers:
        _consumers.append(consumer)


def emit(*, kind: str, organization_id: int, payload: dict) -> None:
    """Write the message in the caller's transaction; dispatch it after commit."""
    from core.models import OutboxMessage

    OutboxKind(kind)  # an unknown kind is a programming error
    message = OutboxMessage.objects.create(
        organization_id=organization_id, kind=kind, payload=payload
    )
    transaction.on_commit(lambda: outbox_dispatch.enqueue(message.pk), robust=True)


def dispatch(message_id: int) -> bool:
    """Hand one message to the consumers, once (the row is locked; False if already done)."""
    from core.models import OutboxMessage

    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk=message_id, dispatched_at__isnull=True).first()
        )
        if message is None:
            return False
        for consumer in _consumers:
            consumer(message)
        message.dispatched_at = timezone.now()
        message.save(update_fields=["dispatched_at"])
    return True


@task
def outbox_dispatch(message_id: int) -> bool:
    """The worker's task: pass one committed outbox message to its consumers (the API's
    webhooks). It lives beside ``emit`` so the outbox and the task module never import each
    other."""
    return dispatch(message_id)
