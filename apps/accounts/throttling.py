"""Login throttling with django-axes: per username and per client address, with lockout.

Each failed password counts against the username tried and against the address it came from;
either reaching AXES_FAILURE_LIMIT locks further attempts out for AXES_COOLOFF_TIME, even with
the right password. Failures and lockouts are audit events (apps.audit.services.capture).
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

LOCKED_OUT = (
    "Too many failed sign-in attempts for this account or from this address: sign-in is "
    "locked for {minutes} minutes. Ask an organisation admin if you have lost your password."
)


class LoginThrottleBackend(AxesStandaloneBackend):  # type: ignore[misc]  # untyped package
    """Refuses sign-in while the username or the client address is locked out.

    Authentication without a request (management commands, the shell) has no client to
    throttle and is not counted; every sign-in form and API login passes its request.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


def _minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_message() -> str:
    return LOCKED_OUT.format(minutes=_minutes())


def client_ip(request: HttpRequest) -> str:
    """The address the audit trail records too: REMOTE_ADDR, as set by the server."""
    return str(request.META.get("REMOTE_ADDR", ""))


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """429 with a reason: the API's JSON error shape under /api/, plain text elsewhere."""
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    message = lockout_message()
    if request.path.startswith("/api/"):
        body = {"error": {"status": 429, "code": "locked_out", "message": message}}
        response: HttpResponse = JsonResponse(body, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = retry_after
    return response
