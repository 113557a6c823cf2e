"""Background work of billing, run by the worker (``manage.py db_worker``), never in a request."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.tasks import task

from billing.models import CreditMemo, Invoice, SalesOrder

DOCUMENT_MODELS = {"sales_order": SalesOrder, "invoice": Invoice, "credit_memo": CreditMemo}


@task
def document_render_and_store(doc_type: str, pk: int) -> bool:
    """Render an issued sales order, invoice or credit memo once and store it.

    False if it was already stored.

    A first download renders it on demand when no worker has yet (``document_pdf_bytes``); the
    document row lock makes the two never render it twice.
    """
    from billing.services import document_store_pdf

    document = DOCUMENT_MODELS[doc_type].objects.get(pk=pk)
    if document.sha256:
        return False
    try:
        document_store_pdf(document=document)
    except ValidationError:  # stored meanwhile by a first download
        return False
    return True
