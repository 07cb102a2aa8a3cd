"""Portal sessions end after a period of inactivity (21 CFR Part 11 §11.300-style controls)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect

LAST_SEEN = "portal_last_seen"
# Background requests (progress polling) say so with this header: they keep nothing alive.
POLL_HEADER = "X-Portal-Poll"


class IdleSessionMiddleware:
    """Sign a browser session out once it has been idle longer than PORTAL_IDLE_SECONDS.

    Only session-authenticated requests are concerned; API tokens have their own expiry.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            last = request.session.get(LAST_SEEN)
            if last is not None and now - float(last) > settings.PORTAL_IDLE_SECONDS:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)  # unauthenticated now: DRF answers 401/403
                minutes = max(1, round(settings.PORTAL_IDLE_SECONDS / 60))
                messages.info(
                    request, f"You were signed out after {minutes} minutes without activity."
                )
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = settings.LOGIN_URL
                    return response
                return redirect(f"{settings.LOGIN_URL}?next={request.path}")
            if not request.headers.get(POLL_HEADER):
                request.session[LAST_SEEN] = now
        return self.get_response(request)
