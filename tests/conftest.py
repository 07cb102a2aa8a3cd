"""Shared fixtures: personas (one user per role in organisation A, an outsider in B)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Organization, Role, User
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="carealign-hf-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PASSWORD = "correct horse battery staple"


@dataclass
class Personas:
    org: Organization
    other_org: Organization
    admin: User
    compliance_officer: User
    model_developer: User
    clinical_reviewer: User
    auditor: User
    outsider: User  # admin of the other organisation

    def user(self, role: str) -> User:
        return getattr(self, role)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def personas(db: Any) -> Personas:
    org = OrganizationFactory(name="St Example Hospital", slug="st-example")
    other = OrganizationFactory(name="Other Payer", slug="other-payer", kind="payer")
    users = {}
    for role in Role.values:
        users[role] = UserFactory(username=role)
        MembershipFactory(user=users[role], organization=org, role=role)
    outsider = UserFactory(username="outsider")
    MembershipFactory(user=outsider, organization=other, role=Role.ADMIN)
    return Personas(org=org, other_org=other, outsider=outsider, **users)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(personas: Personas) -> Any:
    """An API client signed in as the persona with the given role (or "outsider")."""

    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(personas.user(role))
        return client

    return make
