"""Every refusal has one shape: ``{"detail": "...", "errors": [...], "fields": {...}}``.

A service's ``ValidationError`` answers 400 with the page's message; a malformed request 400
with each field's message; nothing answers 500."""

from django.core.exceptions import ValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


def _flatten(detail, prefix="") -> list[str]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            label = "" if key in ("non_field_errors", "__all__") else f"{prefix}{key}: "
            out += _flatten(value, label)
        return out
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item, prefix)]
    return [f"{prefix}{detail}"]


def api_exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        messages = list(exc.messages)
        return Response({"detail": " ".join(messages), "errors": messages}, status=400)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        messages = _flatten(exc.detail)
        response.data = {"detail": " ".join(messages), "errors": messages,
                         "fields": exc.detail if isinstance(exc.detail, dict) else {}}
    return response
