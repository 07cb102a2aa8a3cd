"""Sign-in throttling (django-axes) and API rate limits (DRF throttles).

Before: 30 wrong passwords for `admin` in 14 s, then the right one signed in; no 429 anywhere.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.test import Client

from apps.audit.models import AuditAction, AuditEvent
from tests.builders.accounts import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 5


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = LIMIT
    cache.clear()


def sign_in(username: str, password: str, ip: str = "203.0.113.7") -> Any:
    return Client(REMOTE_ADDR=ip).post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )


def test_the_right_password_is_refused_after_repeated_failures(personas) -> None:
    personas.admin.is_staff = True
    personas.admin.save()
    for _ in range(LIMIT - 1):
        assert sign_in("admin", "wrong").status_code == 200  # the form, with its error
    locked = sign_in("admin", "wrong")
    assert locked.status_code == 429

    response = sign_in("admin", PASSWORD)
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    assert int(response["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in Client().session


def test_a_user_is_locked_out_from_every_address(personas) -> None:
    for n in range(LIMIT):
        sign_in("admin", "wrong", ip=f"198.51.100.{n}")
    assert sign_in("admin", PASSWORD, ip="192.0.2.99").status_code == 429


def test_an_address_is_locked_out_for_every_user(personas) -> None:
    for n in range(LIMIT):
        sign_in(f"guess{n}", "wrong", ip="203.0.113.50")
    assert sign_in("auditor", PASSWORD, ip="203.0.113.50").status_code == 429
    # Another address can still sign the auditor in (non-staff: the admin form says so, 200).
    assert sign_in("auditor", PASSWORD, ip="203.0.113.51").status_code == 200


def test_a_success_before_the_limit_resets_the_count(personas) -> None:
    staff = UserFactory(username="staffer", is_staff=True)
    for _ in range(LIMIT - 1):
        sign_in("staffer", "wrong")
    assert sign_in("staffer", PASSWORD).status_code == 302
    for _ in range(LIMIT - 1):
        sign_in("staffer", "wrong", ip="203.0.113.8")
    assert sign_in("staffer", PASSWORD, ip="203.0.113.9").status_code == 302
    assert staff.pk


def test_failures_and_the_lockout_are_audited(personas) -> None:
    for _ in range(LIMIT):
        sign_in("admin", "wrong")
    chain = AuditEvent.objects.filter(organization=personas.org)
    assert chain.filter(action=AuditAction.LOGIN_FAILED, object_label="admin").count() == LIMIT
    locked = chain.get(action=AuditAction.LOGIN_LOCKED_OUT)
    assert locked.object_id == str(personas.admin.pk)
    assert "203.0.113.7" in locked.object_label and locked.actor == "anonymous"


def test_authentication_without_a_request_is_not_throttled(personas) -> None:
    # Management commands and the shell have no client address to count.
    for _ in range(LIMIT + 2):
        assert authenticate(username="admin", password="wrong") is None
    assert authenticate(username="admin", password=PASSWORD) == personas.admin


def test_the_api_answers_429_with_a_json_reason_over_its_rate(settings, client_for) -> None:
    settings.API_THROTTLE_RATES = {"user": "3/min", "anon": "2/min"}
    client = client_for("auditor")
    for _ in range(3):
        assert client.get("/api/v1/models/").status_code == 200
    response = client.get("/api/v1/models/")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "throttled" and "rate limit" in error["message"]
    assert 0 < int(response["Retry-After"]) <= 60
    # Another user has their own allowance.
    assert client_for("admin").get("/api/v1/models/").status_code == 200


def test_anonymous_requests_are_throttled_per_address(settings, api) -> None:
    # Endpoints that need a user answer 401 before any throttle; public ones count by address.
    settings.API_THROTTLE_RATES = {"user": "100/min", "anon": "2/min"}
    codes = [api.get("/api/schema/", REMOTE_ADDR="192.0.2.1").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api.get("/api/schema/", REMOTE_ADDR="192.0.2.2").status_code == 200


def test_a_lockout_under_the_api_is_a_json_429(personas) -> None:
    from django.test import RequestFactory

    from apps.accounts.throttling import lockout_response

    request = RequestFactory().post("/api/v1/auth/token/", REMOTE_ADDR="192.0.2.5")
    response = lockout_response(request, None, {"username": "admin"})

    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert error["code"] == "locked_out" and "15 minutes" in error["message"]
