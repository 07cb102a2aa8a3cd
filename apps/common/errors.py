"""One JSON error shape for the whole API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        parts = [f"{key}: {_flatten(value)}" for key, value in detail.items()]
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_flatten(value) for value in detail)
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error has one shape: {"error": {"status", "code", "message", "fields"?}}."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    body: dict[str, Any] = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        body["code"] = "invalid"
        body["message"] = "The request is invalid: " + _flatten(detail)
        body["fields"] = detail
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body["code"] = codes if isinstance(codes, str) else "invalid"
        body["message"] = _flatten(
            detail.get("detail", detail) if isinstance(detail, dict) else detail
        )
    response.data = {"error": body}
    return response
