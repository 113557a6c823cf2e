"""First middleware of every request: its id (nginx's X-Request-ID, or a new one) for the logs and
the response header, and its latency for the metrics."""

from __future__ import annotations

import time

from ops.context import accepted_request_id, request_id_var
from ops.metrics import observe_request

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accepted_request_id(request.headers.get(HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            return response
        finally:
            match = getattr(request, "resolver_match", None)
            observe_request(
                view=match.view_name if match else "unresolved",
                method=request.method,
                seconds=time.perf_counter() - started,
            )
            request_id_var.reset(token)
