"""Every list endpoint runs the same number of queries whatever its page size."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Organization, Role, User
from tests.tenant_rows import tenant_rows

pytestmark = pytest.mark.django_db

LISTS = [
    "organizations",
    "memberships",
    "tokens",
    "models",
    "model-versions",
    "datasets",
    "dataset-versions",
    "audit",
    "suites",
    "runs",
    "schedules",
    "drift-alerts",
    "model-cards",
]


@pytest.fixture
def admin() -> User:
    org = Organization.objects.create(name="Clinic", slug="clinic")
    user = User.objects.create(username="clinic-admin")
    Membership.objects.create(user=user, organization=org, role=Role.ADMIN)
    tenant_rows(org, 40, blob_kb=0)
    return user


def _queries(client: APIClient, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries), response.json()


@pytest.mark.parametrize("name", LISTS)
def test_query_count_does_not_grow_with_page_size(admin: User, name: str) -> None:
    client = APIClient()
    client.force_authenticate(admin)
    small, page = _queries(client, f"/api/v1/{name}/?page_size=2")
    large, full = _queries(client, f"/api/v1/{name}/?page_size=40")
    if name != "organizations":  # the caller's one organisation
        assert len(full["results"]) > len(page["results"])
    assert large == small
