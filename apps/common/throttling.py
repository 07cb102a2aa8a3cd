"""API rate limits (DRF throttles): per signed-in user or token holder, and per address.

Rates are read from settings.API_THROTTLE_RATES at each request, so a deployment (or a test)
can change them without reloading the classes. Counts live in the default cache: configure
CACHE_URL (Redis) when several processes serve the API, or each counts on its own.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _SettingsRate:
    scope: str

    def get_rate(self) -> str | None:
        rate: str | None = settings.API_THROTTLE_RATES.get(self.scope)
        return rate


class ApiUserRateThrottle(_SettingsRate, UserRateThrottle):
    """Requests per signed-in user (a token counts for its holder)."""

    scope = "user"


class ApiAnonRateThrottle(_SettingsRate, AnonRateThrottle):
    """Requests per client address before authentication succeeds."""

    scope = "anon"
