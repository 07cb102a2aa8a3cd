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

# Fixtures shared across the apps' tests (the tiny model and real workers; the model world
# and its cards), from tests/builders/: a test module never imports a conftest.
pytest_plugins = ["tests.builders.workers", "tests.builders.cards"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="carealign-hf-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Besides the audit trail, tables whose triggers refuse TRUNCATE (switched off for flushes).
# Tables whose triggers refuse UPDATE, DELETE or TRUNCATE (audit, cards: reports 0003, sign-offs).
APPEND_ONLY_TABLES = (
    "audit_auditevent",
    "reports_modelcard",
    "signoffs_signoff",
    "signoffs_signoffwithdrawal",
)


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


def _flushes_database(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & {"transactional_db", "live_server", "django_db_reset_sequences"})


def _set_audit_triggers(settings_dict: dict[str, Any], state: str) -> None:
    import psycopg

    params = {"dbname": settings_dict["NAME"], "user": settings_dict["USER"]}
    params.update({k.lower(): v for k, v in settings_dict.items() if k in ("HOST", "PORT") and v})
    if settings_dict.get("PASSWORD"):
        params["password"] = settings_dict["PASSWORD"]
    with psycopg.connect(**params, autocommit=True) as conn:
        for table in APPEND_ONLY_TABLES:
            conn.execute(f"ALTER TABLE {table} {state} TRIGGER USER")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Let the flush that ends a transactional test empty the append-only audit table (and
    the model card table).

    The flush TRUNCATEs every table, which their triggers refuse: they are switched off
    for the flush only, as the table's owner, over a separate connection.
    """
    if not _flushes_database(item):
        return (yield)
    from django.db import connection

    if connection.vendor != "postgresql":
        return (yield)
    settings_dict = dict(connection.settings_dict)
    _set_audit_triggers(settings_dict, "DISABLE")
    try:
        return (yield)
    finally:
        _set_audit_triggers(settings_dict, "ENABLE")


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _tasks_in_process() -> Any:
    """Tasks sent by a test run in the test's process (Celery's eager mode), not on a broker.

    Tests that start real workers (tests/apps/evaluations/test_workers.py) point the app at
    Redis instead; the embedded default's file broker is tested there too.
    """
    from governance.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


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
