"""The demo organisation: no platform superuser, and every printed password signs its user in."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory

from apps.accounts.models import Organization, User
from apps.demo.management.commands import demo
from apps.demo.management.commands.demo import FIXTURES, Command
from tests.factories import EvaluationRunFactory

pytestmark = pytest.mark.django_db


def _printed_passwords() -> dict[str, str]:
    call_command("loaddata", str(FIXTURES / "demo" / "organization.json"), verbosity=0)
    out = io.StringIO()
    command = Command(stdout=out)
    command._passwords(Organization.objects.get(slug="riverside-health"))
    pairs = re.findall(r"^  (\S+)\s+(\S+)\s+", out.getvalue(), flags=re.MULTILINE)
    return dict(pairs)


def test_no_demo_user_is_a_superuser_and_every_printed_password_works() -> None:
    cache.clear()
    passwords = _printed_passwords()

    assert set(passwords) == {"admin", "compliance", "developer", "reviewer", "auditor"}
    assert not User.objects.filter(is_superuser=True).exists()
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="192.0.2.10")
    for username, password in passwords.items():
        assert authenticate(request, username=username, password=password) is not None, username


def test_the_demo_admin_manages_only_riverside_in_the_django_admin() -> None:
    passwords = _printed_passwords()
    other = Organization.objects.create(name="Elsewhere", slug="elsewhere", kind="payer")
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": passwords["admin"]}
    )
    assert response.status_code == 302

    listing = client.get("/admin/accounts/organization/")
    assert listing.status_code == 200
    assert "Riverside Health" in listing.content.decode()
    assert other.name not in listing.content.decode()
    assert client.get(f"/admin/accounts/organization/{other.pk}/change/").status_code in (302, 404)
    assert client.get("/admin/registry/aimodel/").status_code == 200


def test_a_lockout_from_an_earlier_run_is_lifted_by_the_next_run() -> None:
    _printed_passwords()
    for _ in range(6):
        Client(REMOTE_ADDR="192.0.2.20").post(
            "/admin/login/", {"username": "admin", "password": "wrong"}
        )
    passwords = _printed_passwords()
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="192.0.2.21")
    assert authenticate(request, username="admin", password=passwords["admin"]) is not None


def test_a_run_no_worker_takes_is_named_then_refused_not_waited_on_silently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = EvaluationRunFactory()
    assert run.status == "queued"
    monkeypatch.setattr(demo, "NO_WORKER_HINT_AFTER", 0.0)
    out = io.StringIO()
    with pytest.raises(CommandError, match="still queued after 1 s: no Celery worker"):
        Command(stdout=out)._wait(run, timeout=1)
    assert out.getvalue().count("no Celery worker has taken it") == 1
    assert "celery -A governance worker" in out.getvalue()
