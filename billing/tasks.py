"""Background work of billing, run by the worker (``manage.py db_worker``), never in a request.

The services and Submit For Billing queue a document's render with ``document_store_after_commit``
(this module imports ``billing.documents``; nothing here imports the services).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.tasks import task

from billing.documents import document_store_pdf
from billing.models import CreditMemo, Invoice, SalesOrder

DOCUMENT_MODELS = {"sales_order": SalesOrder, "invoice": Invoice, "credit_memo": CreditMemo}
DOC_TYPES = {model: doc_type for doc_type, model in DOCUMENT_MODELS.items()}


@task
def document_render_and_store(doc_type: str, pk: int) -> bool:
    """Render an issued sales order, invoice or credit memo once and store it.

    False if it was already stored.

    A first download renders it on demand when no worker has yet (``document_pdf_bytes``); the
    document row lock makes the two never render it twice.
    """
    document = DOCUMENT_MODELS[doc_type].objects.get(pk=pk)
    if document.sha256:
        return False
    try:
        document_store_pdf(document=document)
    except ValidationError:  # stored meanwhile by a first download
        return False
    return True


def document_store_after_commit(document: SalesOrder | Invoice | CreditMemo) -> None:
    """Once the issuing transaction commits, hand the render to the worker (this module's task).

    robust: when the task cannot be queued the error is logged; the first download renders it.
    """
    doc_type, pk = DOC_TYPES[type(document)], document.pk
    transaction.on_commit(
        lambda: document_render_and_store.enqueue(doc_type, pk), robust=True
    )
