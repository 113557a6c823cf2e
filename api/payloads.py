"""The ``data`` of a webhook: the object the message names, as the API shows it (no patient
IDs: integrations that need one read the event through the API, which logs the access)."""

from __future__ import annotations

from billing.models import CreditMemo, Invoice, PurchaseOrder, SalesOrder
from core.outbox import OutboxKind
from events.models import Event
from inventory.models import Transfer


def payload_for(kind: str, organization_id: int, payload: dict) -> dict:
    from api import serializers as s

    pk = payload.get("id")
    simple = {
        OutboxKind.EVENT_SUBMITTED: (Event, s.EventSerializer),
        OutboxKind.SALES_ORDER_ISSUED: (SalesOrder, s.SalesOrderSerializer),
        OutboxKind.INVOICE_ISSUED: (Invoice, s.InvoiceSerializer),
        OutboxKind.CREDIT_MEMO_ISSUED: (CreditMemo, s.CreditMemoSerializer),
        OutboxKind.TRANSFER_ANSWERED: (Transfer, s.TransferSerializer),
    }
    if kind in simple:
        model, serializer = simple[kind]
        obj = model.objects.filter(organization_id=organization_id, pk=pk).first()
        return serializer(obj).data if obj is not None else {"id": pk}
    if kind == OutboxKind.PURCHASE_ORDER_RECORDED:
        po = PurchaseOrder.objects.filter(organization_id=organization_id, pk=pk).first()
        return {"id": pk, "number": po.number, "event": po.event_id,
                "recorded_at": po.recorded_at} if po else {"id": pk}
    return dict(payload)
