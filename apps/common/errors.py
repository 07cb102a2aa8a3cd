"""One JSON error shape for the whole API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.common.signals import write_refused


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        parts = [f"{key}: {_flatten(value)}" for key, value in detail.items()]
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_flatten(value) for value in detail)
    return str(detail)


def _audit_refused_write(exc: exceptions.PermissionDenied, context: dict[str, Any]) -> None:
    """A refused write attempt is an audit event (21 CFR 11.10(d), (g)); refused reads are not."""
    request = context.get("request")
    if request is None or request.method in SAFE_METHODS or not request.user.is_authenticated:
        return
    # The audit app receives it (apps.audit.services.capture): audit builds on common.
    write_refused.send(
        sender=exception_handler,
        request=request,
        organization_id=getattr(context.get("view"), "audit_organization_id", None),
        reason=_flatten(exc.detail),
    )


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
    if isinstance(exc, exceptions.PermissionDenied):
        _audit_refused_write(exc, context)
    if isinstance(exc, exceptions.Throttled):
        seconds = getattr(exc, "wait", None)
        wait = f"in {seconds:.0f} seconds" if seconds is not None else "later"
        exc.detail = exceptions.ErrorDetail(
            f"Too many requests: the API's rate limit was reached; try again {wait}.",
            code="throttled",
        )
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


def _api_error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse | None:
    if not request.path.startswith("/api/"):
        return None
    return JsonResponse(
        {"error": {"status": status, "code": code, "message": message}}, status=status
    )


# Django's own error views (handler400/403/404/500): JSON in the shape above under /api/,
# so a client gets one error shape even for a URL no view answers or a crash.
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The request body is larger than {limit} bytes; send less at a time."
        response = _api_error(request, 413, "body_too_large", message)
        if response is not None:
            return response
    response = _api_error(request, 400, "bad_request", "The request could not be read.")
    return response or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    response = _api_error(request, 403, "permission_denied", "Permission denied.")
    return response or defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = f"No API endpoint at {request.path}."
    response = _api_error(request, 404, "not_found", message)
    return response or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    response = _api_error(request, 500, "server_error", "A server error occurred.")
    return response or defaults.server_error(request)
