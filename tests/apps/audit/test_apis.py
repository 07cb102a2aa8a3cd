"""Audit API: auditors and admins read their own organisation's trail; nobody writes it."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from apps.accounts.models import Role
from apps.audit import services
from apps.audit.models import AuditAction
from apps.audit.selectors import RECORD_KEYS, audit_chain_head, audit_chain_verify
from apps.registry import services as registry
from tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db
READERS = {Role.ADMIN, Role.AUDITOR}


@pytest.fixture
def history(personas: Any) -> Any:
    """A model created, changed twice by the compliance officer; one event in the other org."""
    model = AIModelFactory(organization=personas.org, name="Triage helper", risk_class="low")
    registry.ai_model_update(model=model, risk_class="moderate")
    registry.ai_model_update(model=model, risk_class="high")
    AIModelFactory(organization=personas.other_org, name="Claims coder")
    return model


def export(client: Any, fmt: str, **filters: str) -> Any:
    response = client.get("/api/v1/audit/export/", {"format": fmt, **filters})
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, b"".join(response.streaming_content).decode("utf-8")


@pytest.mark.parametrize("role", Role.values)
def test_only_auditors_and_admins_read_the_trail(client_for: Any, history: Any, role: str) -> None:
    client = client_for(role)
    expected = 200 if role in READERS else 403

    for path in ("/api/v1/audit/", "/api/v1/audit/verify/", "/api/v1/audit/head/"):
        assert client.get(path).status_code == expected, path
    assert client.get("/api/v1/audit/export/", {"format": "jsonl"}).status_code == expected


def test_nobody_writes_to_the_trail_through_the_api(client_for: Any, personas: Any) -> None:
    client = client_for("admin")
    event = services.audit_record(action="note", organization=personas.org)

    assert client.post("/api/v1/audit/", {"action": "note"}, format="json").status_code == 405
    assert client.patch(f"/api/v1/audit/{event.pk}/", {"action": "x"}).status_code == 405
    assert client.delete(f"/api/v1/audit/{event.pk}/").status_code == 405


def test_another_organisations_events_are_never_visible(
    client_for: Any, personas: Any, history: Any
) -> None:
    events = client_for("outsider").get("/api/v1/audit/", {"page_size": 200}).json()["results"]

    assert events and {e["organization"] for e in events} == {"other-payer"}
    mine = services.audit_record(action="note", organization=personas.org)
    assert client_for("outsider").get(f"/api/v1/audit/{mine.pk}/").status_code == 404


def test_platform_events_are_visible_to_nobody_through_the_api(
    client_for: Any, personas: Any
) -> None:
    platform = services.audit_record(action="note", organization=None)

    assert client_for("admin").get(f"/api/v1/audit/{platform.pk}/").status_code == 404


def test_events_filter_by_action_object_actor_and_time(
    client_for: Any, personas: Any, history: Any
) -> None:
    client = client_for("auditor")
    updates = client.get(
        "/api/v1/audit/",
        {"action": "update", "object_type": "registry.aimodel", "object_id": str(history.pk)},
    ).json()["results"]
    assert [e["changes"]["risk_class"] for e in updates] == [
        ["moderate", "high"],
        ["low", "moderate"],
    ]
    first = updates[-1]
    later = client.get("/api/v1/audit/", {"since": updates[0]["occurred_at"]}).json()["results"]
    assert [e["seq"] for e in later] == [updates[0]["seq"]]
    before = client.get("/api/v1/audit/", {"until": first["occurred_at"]}).json()["results"]
    assert first["seq"] not in [e["seq"] for e in before]
    assert client.get("/api/v1/audit/", {"actor": "system"}).json()["count"] >= 3
    assert client.get("/api/v1/audit/", {"actor": "user:nobody"}).json()["count"] == 0


def test_jsonl_export_streams_every_hashed_field_in_chain_order(
    client_for: Any, personas: Any, history: Any
) -> None:
    response, body = export(client_for("auditor"), "jsonl")

    records = [json.loads(line) for line in body.splitlines()]
    assert response["Content-Type"] == "application/x-ndjson"
    assert "attachment" in response["Content-Disposition"]
    assert all(list(record) == list(RECORD_KEYS) for record in records)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert {r["organization"] for r in records} == {personas.org.pk}
    # The export is itself a download of the trail, recorded before it streams.
    assert records[-1]["action"] == AuditAction.DOWNLOAD
    assert records[-1]["object_type"] == "audit.auditevent"
    assert records[-1]["hash"] == audit_chain_head(organization_id=personas.org.pk).hash


def test_csv_export_has_one_row_per_event_and_the_filters_apply(
    client_for: Any, personas: Any, history: Any
) -> None:
    _, body = export(client_for("admin"), "csv", action="update")

    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == list(RECORD_KEYS)
    assert [json.loads(r["changes"])["risk_class"] for r in rows] == [
        ["low", "moderate"],
        ["moderate", "high"],
    ]


def test_verify_reports_each_readable_chain_and_its_head(
    client_for: Any, personas: Any, history: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The first call finds no result yet and asks a worker for one (sent on commit).
    with django_capture_on_commit_callbacks(execute=True) as sent:
        first = client_for("auditor").get("/api/v1/audit/verify/").json()
    assert len(sent) == 1
    assert [(b["organization"], b["intact"], b["next"]["status"]) for b in first] == [
        ("st-example", None, "queued")
    ]
    assert first[0]["summary"] == "not verified yet" and first[0]["verified_at"] is None

    with django_capture_on_commit_callbacks(execute=False):
        body = client_for("auditor").get("/api/v1/audit/verify/").json()

    expected = audit_chain_verify(organization_id=personas.org.pk)
    assert body[0]["verified_at"] and body[0]["next"]["status"] == "queued"
    del body[0]["verified_at"], body[0]["next"]
    assert body == [
        {
            "organization": "st-example",
            "intact": True,
            "events": expected.count,
            "head_seq": expected.head_seq,
            "head_hash": expected.head_hash,
            "broken_seq": None,
            "problem": "",
            "summary": expected.summary,
        }
    ]
    head = client_for("auditor").get("/api/v1/audit/head/").json()
    assert [(h["organization"], h["seq"], h["hash"]) for h in head] == [
        ("st-example", expected.head_seq, expected.head_hash)
    ]
