"""The request id of the work in hand: an HTTP request's, or the one a worker task inherited from
the request that enqueued it. Read by the log filter (ops.logs) and copied onto enqueued tasks."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# What an incoming X-Request-ID may look like (nginx's $request_id is 32 hex digits); anything
# else is replaced by a new id rather than written into the logs.
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """The caller's id when it is a sensible token, else a new one."""
    if value and VALID_ID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str:
    return request_id_var.get()
