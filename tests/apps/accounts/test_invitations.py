"""Organisations invite, people accept: nobody is added without consent, and inviting never
tells whether a username exists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Invitation, Membership, Role
from apps.accounts.services import api_token_create
from apps.audit.models import AuditAction, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def invite(client: APIClient, username: str, role: str = "auditor", **extra: Any) -> Any:
    return client.post(
        "/api/v1/invitations/", {"username": username, "role": role, **extra}, format="json"
    )


def test_the_invitee_accepts_and_only_then_becomes_a_member(client_for, personas) -> None:
    newcomer = UserFactory(username="newcomer")
    sent = invite(client_for("admin"), "newcomer", "clinical_reviewer")
    assert sent.status_code == 201
    assert not Membership.objects.filter(user=newcomer).exists()

    mine = as_user(newcomer).get("/api/v1/invitations/received/").json()["results"]
    assert [(i["organization"], i["role"], i["invited_by"]) for i in mine] == [
        ("st-example", "clinical_reviewer", "admin")
    ]
    accepted = as_user(newcomer).post(f"/api/v1/invitations/received/{mine[0]['id']}/accept/")

    assert accepted.status_code == 201
    assert accepted.json()["organization"] == "st-example"
    membership = Membership.objects.get(user=newcomer)
    assert (membership.organization, membership.role) == (personas.org, "clinical_reviewer")
    assert Invitation.objects.get().status == "accepted"
    assert as_user(newcomer).get("/api/v1/invitations/received/").json()["results"] == []
    events = AuditEvent.objects.filter(organization=personas.org, object_type="accounts.invitation")
    assert [e.action for e in events] == [AuditAction.CREATE, AuditAction.UPDATE]


def test_the_answer_is_the_same_whether_the_username_exists_or_not(client_for, personas) -> None:
    UserFactory(username="realperson")
    real = invite(client_for("admin"), "realperson").json()
    ghost = invite(client_for("admin"), "nobody-at-all").json()

    def shape(body: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v for k, v in body.items() if k not in ("id", "username", "created_at", "expires_at")
        }

    assert shape(real) == shape(ghost)
    assert real["status"] == ghost["status"] == "pending"


def test_a_declined_invitation_adds_nobody(client_for, personas) -> None:
    newcomer = UserFactory(username="newcomer")
    invite(client_for("admin"), "newcomer")
    pk = Invitation.objects.get().pk

    declined = as_user(newcomer).post(f"/api/v1/invitations/received/{pk}/decline/")

    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert not Membership.objects.filter(user=newcomer).exists()
    assert as_user(newcomer).post(f"/api/v1/invitations/received/{pk}/accept/").status_code == 404


def test_someone_else_cannot_accept_an_invitation(client_for, personas) -> None:
    UserFactory(username="newcomer")
    intruder = UserFactory(username="intruder")
    invite(client_for("admin"), "newcomer")
    pk = Invitation.objects.get().pk

    assert as_user(intruder).post(f"/api/v1/invitations/received/{pk}/accept/").status_code == 404
    assert not Membership.objects.filter(user=intruder).exists()


def test_revoked_and_expired_invitations_cannot_be_accepted(client_for, personas) -> None:
    newcomer = UserFactory(username="newcomer")
    invite(client_for("admin"), "newcomer")
    invitation = Invitation.objects.get()
    revoked = client_for("admin").post(f"/api/v1/invitations/{invitation.pk}/revoke/")
    assert revoked.json()["status"] == "revoked"
    url = f"/api/v1/invitations/received/{invitation.pk}/accept/"
    assert as_user(newcomer).post(url).status_code == 404

    invite(client_for("admin"), "newcomer")
    late = Invitation.objects.get(status="pending")
    past = timezone.now() - timedelta(days=30)
    Invitation.objects.filter(pk=late.pk).update(
        created_at=past, expires_at=past + timedelta(days=14)
    )
    url = f"/api/v1/invitations/received/{late.pk}/accept/"
    assert as_user(newcomer).post(url).status_code == 404
    assert not Membership.objects.filter(user=newcomer).exists()


def test_a_new_invitation_replaces_the_pending_one(client_for, personas) -> None:
    invite(client_for("admin"), "newcomer", "auditor")
    invite(client_for("admin"), "newcomer", "model_developer")
    assert list(Invitation.objects.order_by("id").values_list("role", "status")) == [
        ("auditor", "revoked"),
        ("model_developer", "pending"),
    ]


def test_only_admins_invite_and_only_to_their_organisation(client_for, personas) -> None:
    assert invite(client_for("compliance_officer"), "newcomer").status_code == 403
    assert invite(client_for("admin"), "newcomer", organization="other-payer").status_code == 400
    assert invite(client_for("admin"), "newcomer", role="owner").status_code == 400
    assert invite(client_for("admin"), "auditor").status_code == 400  # already a member
    assert not Invitation.objects.exists()


def test_an_admin_sees_only_their_organisations_invitations(client_for, personas) -> None:
    invite(client_for("admin"), "newcomer")
    invite(client_for("outsider"), "someone")
    listed = client_for("admin").get("/api/v1/invitations/").json()["results"]
    assert [i["username"] for i in listed] == ["newcomer"]
    other = Invitation.objects.get(username="someone")
    assert client_for("admin").get(f"/api/v1/invitations/{other.pk}/").status_code == 404


def test_invitations_are_answered_in_person_not_with_a_token(personas) -> None:
    newcomer = UserFactory(username="newcomer")
    Membership.objects.create(user=newcomer, organization=personas.other_org, role=Role.ADMIN)
    invitation = Invitation.objects.create(
        organization=personas.org,
        username="newcomer",
        role="auditor",
        invited_by=personas.admin,
        expires_at=timezone.now() + timedelta(days=1),
    )
    secret = api_token_create(
        organization=personas.other_org, created_by=newcomer, name="ci", role=Role.ADMIN
    ).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = client.post(f"/api/v1/invitations/received/{invitation.pk}/accept/")

    assert response.status_code == 403
    assert not Membership.objects.filter(user=newcomer, organization=personas.org).exists()
