"""Give every request an audit context: request id, client address, user agent, source."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from apps.audit.services import audit_context, audit_permission_denied

# An incoming X-Request-ID is kept (to correlate with a proxy's logs) only if it is this tame.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def _source(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


class AuditContextMiddleware:
    """Events written while handling a request name its user or API token and where it came from.

    The actor is resolved when an event is written, not here: DRF authenticates API tokens
    later, inside the view, and sets them on this request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        with audit_context(
            source=_source(request.path),
            request=request,
            request_id=request_id,
            client_ip=request.META.get("REMOTE_ADDR", ""),
            user_agent=request.headers.get("User-Agent", ""),
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # Refused writes in the admin and portal (the API records its own, in its handler).
        if isinstance(exception, PermissionDenied) and request.method not in SAFE_METHODS:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                audit_permission_denied(
                    request=request,
                    organization_id=getattr(request, "audit_organization_id", None),
                    reason=str(exception) or "forbidden",
                )
