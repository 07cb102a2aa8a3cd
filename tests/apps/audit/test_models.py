"""Append-only: the database refuses UPDATE, DELETE and TRUNCATE; tampering is detected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from apps.audit import services
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify, record_from_row
from apps.audit.verify import compute_hash
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def chain() -> list[AuditEvent]:
    """An organisation's chain of four events: its creation and three notes."""
    org = OrganizationFactory(slug="chained")
    for n in range(3):
        services.audit_record(action="note", organization=org, label=f"note {n}")
    with connection.cursor() as cursor:
        # Run the deferred foreign-key checks now: PostgreSQL refuses TRUNCATE and ALTER TABLE
        # on a table with pending trigger events, and the test runs in one transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return list(AuditEvent.objects.filter(organization=org).order_by("seq"))


def refused(sql: str, params: list[Any] | None = None) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except IntegrityError as exc:
        assert "append-only" in str(exc)
        return True
    return False


def test_sql_update_delete_and_truncate_are_refused_three_of_three(
    chain: list[AuditEvent],
) -> None:
    event = chain[1]

    results = [
        refused("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk]),
        refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk]),
        refused("TRUNCATE audit_auditevent CASCADE"),
    ]

    assert results == [True, True, True]
    assert AuditEvent.objects.get(pk=event.pk).action == "note"
    assert AuditEvent.objects.count() >= len(chain)


def test_orm_update_delete_and_flush_are_refused_three_of_three(chain: list[AuditEvent]) -> None:
    event = chain[1]
    attempts = [
        lambda: AuditEvent.objects.filter(pk=event.pk).update(object_label="edited"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
        lambda: call_command("flush", interactive=False, verbosity=0),  # TRUNCATE of all tables
    ]

    outcomes = []
    for attempt in attempts:
        try:
            with transaction.atomic():
                attempt()
            outcomes.append("done")
        except (IntegrityError, CommandError) as exc:
            # TRUNCATE of every table meets the audit trigger or the card table's (which also
            # refuses TRUNCATE), whichever PostgreSQL reaches first.
            message = f"{exc} {exc.__cause__}"
            assert "append-only" in message or "cannot be truncated" in message, message
            outcomes.append("refused")

    assert outcomes == ["refused"] * 3
    assert audit_chain_verify(organization_id=event.organization_id).count == len(chain)


def test_an_instance_save_or_delete_of_an_event_is_refused(chain: list[AuditEvent]) -> None:
    event = chain[1]
    event.object_label = "edited"
    with pytest.raises(IntegrityError), transaction.atomic():
        event.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        event.delete()


def tamper(sql: str, params: list[Any]) -> None:
    """Change the table behind the triggers' back, as its owner can (inside the test's rollback)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def test_an_event_altered_with_the_triggers_off_is_named_by_verification(
    chain: list[AuditEvent],
) -> None:
    org_id = chain[0].organization_id
    tamper(
        "UPDATE audit_auditevent SET object_label = 'nothing to see' WHERE id = %s", [chain[2].pk]
    )

    result = audit_chain_verify(organization_id=org_id)

    assert (result.ok, result.broken_seq, result.count) == (False, 3, 2)
    assert "does not match its content" in result.problem


def test_an_altered_event_whose_hash_was_recomputed_breaks_the_next_link(
    chain: list[AuditEvent],
) -> None:
    forged = record_from_row(chain[1]) | {"object_label": "forged"}
    tamper(
        "UPDATE audit_auditevent SET object_label = 'forged', hash = %s WHERE id = %s",
        [compute_hash(forged), chain[1].pk],
    )

    result = audit_chain_verify(organization_id=chain[0].organization_id)

    assert result.broken_seq == 3
    assert "event 2 was altered or replaced" in result.problem


def test_a_deleted_event_is_named_by_verification(chain: list[AuditEvent]) -> None:
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [chain[2].pk])

    result = audit_chain_verify(organization_id=chain[0].organization_id)

    assert result.broken_seq == 3
    assert result.problem == "event 3 is missing (the next event found is 4)"


def test_the_sqlite_triggers_refuse_update_and_delete(tmp_path: Path) -> None:
    """The embedded default: migrate a fresh SQLite file and try the same attacks there."""
    script = """
import django
django.setup()
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from apps.audit.selectors import audit_chain_verify, record_from_row
from apps.audit.verify import compute_hash
from tests.factories import AIModelFactory

call_command("migrate", verbosity=0)
model = AIModelFactory()
model.risk_class = "high"
model.save()
attacks = (
    "UPDATE audit_auditevent SET action = 'x'",
    "DELETE FROM audit_auditevent WHERE seq = 2",
    "DELETE FROM audit_auditevent",
)
for sql in attacks:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
        print("allowed", sql)
    except IntegrityError as exc:
        print("refused", exc)
print("verify", audit_chain_verify(organization_id=model.organization_id).summary)
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        "CAREALIGN_VAR_DIR": str(tmp_path / "var"),
    }
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["refused"] * 3 + ["verify"]
    assert "append-only: UPDATE refused" in lines[0]
    assert "append-only: DELETE refused" in lines[1]
    assert lines[3].startswith("verify 3 events, chain intact, head ")
