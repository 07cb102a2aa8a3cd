"""`manage.py verify_audit`: one line per chain, exit status 1 naming the first broken event."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.audit import services
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_head
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def verify_audit(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def test_it_prints_each_chain_with_its_length_and_head() -> None:
    org = OrganizationFactory(slug="acme")
    services.audit_record(action="note", organization=org)
    head = audit_chain_head(organization_id=org.pk)

    output = verify_audit("--org", "acme")

    assert output == f"acme: 2 events, chain intact, head {head.hash}\n"
    assert "acme: 2 events, chain intact" in verify_audit()
    assert verify_audit().startswith("platform: ")


def test_it_exits_with_status_1_naming_the_first_broken_event() -> None:
    org = OrganizationFactory(slug="acme")
    for _ in range(3):
        services.audit_record(action="note", organization=org)
    second = AuditEvent.objects.get(organization=org, seq=2)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks: ALTER allowed
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_auditevent SET actor = 'user:x' WHERE id = %s", [second.pk])
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
    out = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("verify_audit", "--org", "acme", stdout=out)

    assert raised.value.returncode == 1
    assert out.getvalue().startswith("acme: broken at event 2: stored hash ")


def test_an_unknown_organisation_is_an_error(personas: Any) -> None:
    with pytest.raises(CommandError, match="No organisation 'nope'"):
        verify_audit("--org", "nope")
