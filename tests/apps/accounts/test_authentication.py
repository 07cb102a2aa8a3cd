"""API tokens: shown once, stored hashed, revocable, expiring, acting with their own role."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership, Role
from apps.accounts.services import api_token_create
from tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db

NEW_MODEL = {
    "name": "Coder",
    "intended_use": "Suggests billing codes for review.",
    "decision_role": "informs",
    "application_area": "payer_operations",
    "risk_class": "low",
}


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def issue(personas, role: str = Role.MODEL_DEVELOPER, **kwargs) -> str:
    org = kwargs.pop("organization", personas.org)
    created_by = kwargs.pop("created_by", personas.admin)
    issued = api_token_create(
        organization=org, created_by=created_by, name="ci", role=role, **kwargs
    )
    return issued.secret


def test_the_secret_is_shown_once_and_only_its_sha256_is_stored(client_for, personas):
    admin = client_for("admin")

    created = admin.post("/api/v1/tokens/", {"name": "release", "role": "model_developer"})
    secret = created.json()["token"]
    token = ApiToken.objects.get()
    listed = admin.get("/api/v1/tokens/").json()["results"]
    detail = admin.get(f"/api/v1/tokens/{token.pk}/").json()

    assert created.status_code == 201
    assert secret.startswith(f"ca_{token.prefix}_")
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert not any(secret in value for value in stored)
    assert "token" not in listed[0]
    assert "token" not in detail
    assert secret not in str(listed) + str(detail)


def test_a_token_authenticates_and_records_its_last_use(personas):
    secret = issue(personas)

    response = bearer(secret).get("/api/v1/models/")

    assert response.status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_the_token_keyword_is_accepted_too(personas):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue(personas)}")

    assert client.get("/api/v1/models/").status_code == 200


def test_a_token_acts_with_its_own_role_not_its_creators(personas):
    auditor_token = bearer(issue(personas, Role.AUDITOR))
    developer_token = bearer(issue(personas, Role.MODEL_DEVELOPER))

    assert auditor_token.get("/api/v1/models/").status_code == 200
    assert auditor_token.post("/api/v1/models/", NEW_MODEL, format="json").status_code == 403
    assert auditor_token.get("/api/v1/memberships/").status_code == 403
    assert developer_token.post("/api/v1/models/", NEW_MODEL, format="json").status_code == 201
    assert developer_token.post("/api/v1/tokens/", {"name": "x"}).status_code == 403


def test_a_token_acts_only_in_its_organisation(personas):
    # Its creator belongs to both organisations; the token only to A.
    Membership.objects.create(user=personas.admin, organization=personas.other_org, role="admin")
    mine = AIModelFactory(organization=personas.org)
    theirs = AIModelFactory(organization=personas.other_org)
    client = bearer(issue(personas, Role.ADMIN))

    listed = client.get("/api/v1/models/").json()["results"]
    orgs = client.get("/api/v1/organizations/").json()["results"]

    assert [m["id"] for m in listed] == [mine.pk]
    assert [o["slug"] for o in orgs] == ["st-example"]
    assert client.get(f"/api/v1/models/{theirs.pk}/").status_code == 404
    created = client.post(
        "/api/v1/models/", {**NEW_MODEL, "organization": "other-payer"}, format="json"
    )
    assert created.status_code == 400


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        pytest.param(
            lambda t: setattr(t, "revoked_at", timezone.now()),
            "This API token was revoked.",
            id="revoked",
        ),
        pytest.param(
            lambda t: setattr(t, "expires_at", t.created_at + timedelta(microseconds=1)),
            "This API token has expired; create a new one.",
            id="expired",
        ),
        pytest.param(
            lambda t: (setattr(t.holder, "is_active", False), t.holder.save()),
            "The holder of this API token is deactivated.",
            id="holder-deactivated",
        ),
    ],
)
def test_an_unusable_token_gets_401_with_a_clear_message(personas, spoil, message):
    secret = issue(personas)
    token = ApiToken.objects.get()
    spoil(token)
    token.save()

    response = bearer(secret).get("/api/v1/models/")

    assert response.status_code == 401
    assert response.json() == {
        "error": {"status": 401, "code": "authentication_failed", "message": message}
    }
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_unknown_token_gets_401(personas):
    secret = issue(personas)

    response = bearer(secret[:-2] + "xx").get("/api/v1/models/")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid API token."


def test_revoking_through_the_api_stops_the_token(client_for, personas):
    secret = issue(personas)
    token = ApiToken.objects.get()

    response = client_for("admin").post(f"/api/v1/tokens/{token.pk}/revoke/")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["revoked_at"] is not None
    assert bearer(secret).get("/api/v1/models/").status_code == 401


def test_a_token_expires_after_90_days_by_default(client_for):
    response = client_for("admin").post("/api/v1/tokens/", {"name": "ci", "role": "auditor"})

    token = ApiToken.objects.get()
    assert response.status_code == 201
    lifetime = token.expires_at - token.created_at
    assert lifetime == timedelta(days=90)


@pytest.mark.parametrize(
    ("expires_in", "message"),
    [
        (timedelta(days=-1), "Must be in the future."),
        (timedelta(days=400), "At most 366 days from now."),
    ],
)
def test_a_token_needs_an_expiry_within_a_year(client_for, expires_in, message):
    body = {"name": "ci", "role": "auditor", "expires_at": timezone.now() + expires_in}

    response = client_for("admin").post("/api/v1/tokens/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"expires_at": [message]}
    assert not ApiToken.objects.exists()


def test_an_admin_token_can_manage_tokens_of_its_organisation(personas):
    client = bearer(issue(personas, Role.ADMIN))

    response = client.post("/api/v1/tokens/", {"name": "nightly", "role": "auditor"})

    assert response.status_code == 201
    assert response.json()["organization"] == "st-example"
    assert response.json()["created_by"] == "admin"


@pytest.mark.parametrize("header", ["Bearer not-a-carealign-token", "Bearer ", "bearer ca_x"])
def test_a_malformed_bearer_header_is_rejected_not_ignored(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/models/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "API token" in response.json()["error"]["message"]


def test_a_retried_token_creation_never_stores_nor_shows_the_secret_again(client_for):
    from apps.common.models import IdempotencyKey

    admin = client_for("admin")
    body = {"name": "release", "role": "model_developer"}

    first = admin.post("/api/v1/tokens/", body, format="json", HTTP_IDEMPOTENCY_KEY="tok-1")
    retry = admin.post("/api/v1/tokens/", body, format="json", HTTP_IDEMPOTENCY_KEY="tok-1")

    secret = first.json()["token"]
    assert ApiToken.objects.count() == 1
    assert retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert "token" not in retry.json()
    assert secret not in str(list(IdempotencyKey.objects.values()))


def test_a_token_stops_working_when_its_holder_leaves_the_organisation(personas):
    secret = issue(personas, Role.COMPLIANCE_OFFICER, created_by=personas.compliance_officer)
    assert bearer(secret).get("/api/v1/models/").status_code == 200

    Membership.objects.filter(user=personas.compliance_officer, organization=personas.org).delete()
    response = bearer(secret).get("/api/v1/models/")

    assert response.status_code == 401
    assert "no longer a member" in response.json()["error"]["message"]
