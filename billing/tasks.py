"""Background work of billing, run by the worker (``manage.py db_worker``), never in a request.

The services and Submit For Billing queue a document's render with ``document_store_after_commit``
(this module imports ``billing.documents``; nothing here imports the services).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from billing.documents import document_store_pdf
from billing.models import CreditMemo, Invoice, SalesOrder

DOCUMENT_MODELS = {"sales_order": SalesOrder, "invoice": Invoice, "credit_memo": CreditMemo}
DOC_TYPES = {model: doc_type for doc_type, model in DOCUMENT_MODELS.items()}
logger = logging.getLogger(__name__)


@task
def document_render_and_store(doc_type: str, pk: int, attempt: int = 0) -> bool:
    """Render an issued sales order, invoice or credit memo once and store it.

    False if it was already stored. When the storage refuses the file (a full disk: OSError)
    nothing is stored, the error is logged, another attempt is queued for later
    (``retry_delay``) and this one fails with ``DocumentNotStored``.

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
    except OSError as error:  # the storage refused the file (disk full): try again later
        delay = retry_delay(attempt)
        document_render_and_store.using(
            run_after=timezone.now() + timedelta(seconds=delay)
        ).enqueue(doc_type, pk, attempt=attempt + 1)
        message = (f"The PDF of {document.number} could not be stored ({error}); nothing was "
                   f"stored. Retry {attempt + 1} is queued in {delay:g} s.")
        logger.error(message, extra={"document": document.number, "attempt": attempt + 1})
        raise DocumentNotStored(message) from error  # this attempt is recorded as failed
    return True


class DocumentNotStored(Exception):
    """A document's PDF could not be stored; a retry of its render is queued."""


def retry_delay(attempt: int) -> float:
    """Seconds before retry ``attempt + 1``: DOCUMENT_RETRY_SECONDS, doubling, at most
    DOCUMENT_RETRY_MAX_SECONDS. Retries never stop: an issued document must get its PDF."""
    return min(settings.DOCUMENT_RETRY_MAX_SECONDS, settings.DOCUMENT_RETRY_SECONDS * 2 ** attempt)


def document_store_after_commit(document: SalesOrder | Invoice | CreditMemo) -> None:
    """Once the issuing transaction commits, hand the render to the worker (this module's task).

    robust: when the task cannot be queued the error is logged; the first download renders it.
    """
    doc_type, pk = DOC_TYPES[type(document)], document.pk
    transaction.on_commit(
        lambda: document_render_and_store.enqueue(doc_type, pk), robust=True
    )
