"""Each request gets a request id: the caller's when it is tame, else a fresh one."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_a_tame_incoming_request_id_is_kept_and_echoed(client_for: Any) -> None:
    response = client_for("auditor").get("/api/v1/audit/", HTTP_X_REQUEST_ID="lb-7f3a.42")

    assert response["X-Request-ID"] == "lb-7f3a.42"


def test_an_unusable_request_id_is_replaced(client_for: Any, personas: Any, trail: Any) -> None:
    response = client_for("auditor").post(
        "/api/v1/models/", {}, format="json", HTTP_X_REQUEST_ID="x" * 65 + "<script>"
    )

    assert response.status_code == 403
    generated = response["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()
    assert trail(personas.org)[-1].request_id == generated
