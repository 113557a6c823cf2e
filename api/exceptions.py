"""A service's ``ValidationError`` answers 400 with the page's message; nothing answers 500."""

from django.core.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        messages = list(exc.messages)
        return Response({"detail": " ".join(messages), "errors": messages}, status=400)
    return exception_handler(exc, context)
