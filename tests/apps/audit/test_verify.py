"""The offline verifier: no Django, agrees with the database, catches an edited export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from apps.audit import services
from apps.audit.selectors import audit_chain_verify
from apps.audit.verify import GENESIS_HASH, compute_hash, verify_records
from tests.factories import AIModelFactory

REPO = Path(__file__).resolve().parents[3]


def offline(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m apps.audit.verify ...` in a bare interpreter: no settings, no database."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "apps.audit.verify", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def chain(n: int, organization: int | None = 7) -> list[dict[str, Any]]:
    records, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        record = {
            "organization": organization,
            "seq": seq,
            "occurred_at": f"2026-01-05T09:00:{seq:02d}.000001+00:00",
            "actor": "user:alice",
            "actor_user_id": 3,
            "actor_role": "auditor",
            "source": "api",
            "action": "update",
            "object_type": "registry.aimodel",
            "object_id": "12",
            "object_label": "Triage — ü",
            "changes": {"risk_class": ["low", "high"]},
            "request_id": "r1",
            "client_ip": "127.0.0.1",
            "user_agent": "test",
            "prev_hash": prev,
        }
        record["hash"] = prev = compute_hash(record)
        records.append(record)
    return records


def test_the_verifier_module_imports_no_django() -> None:
    probe = "import sys, apps.audit.verify; print(sorted(m for m in sys.modules if 'django' in m))"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_an_intact_chain_verifies_and_names_its_head() -> None:
    records = chain(5)

    result = verify_records(records)[7]

    assert result.summary == f"5 events, chain intact, head {records[-1]['hash']}"


@pytest.mark.parametrize(
    ("edit", "broken", "problem"),
    [
        (lambda r: r[2].update(actor="user:mallory"), 3, "does not match its content"),
        (lambda r: r.pop(2), 3, "event 3 is missing"),
        (lambda r: r.insert(3, dict(r[1])), 2, "appears again or out of order"),
        (lambda r: r[0].pop("changes"), 1, "missing field(s) changes"),
    ],
)
def test_the_first_broken_event_is_named(edit: Any, broken: int, problem: str) -> None:
    records = chain(5)
    edit(records)

    result = verify_records(records)[7]

    assert (result.ok, result.broken_seq) == (False, broken)
    assert problem in result.problem


def test_a_partial_export_verifies_every_event_and_every_unbroken_link() -> None:
    records = chain(6)
    del records[1:3]

    assert not verify_records(records)[7].ok
    result = verify_records(records, partial=True)[7]
    assert result.ok and result.gaps == 1 and result.count == 4


@pytest.mark.django_db
def test_offline_and_database_verification_agree_on_an_export(
    client_for: Any, personas: Any, tmp_path: Path
) -> None:
    AIModelFactory(organization=personas.org, name="Ward rounds")
    services.audit_record(action="note", organization=personas.org, changes={"x": [1.5, None]})
    response = client_for("auditor").get("/api/v1/audit/export/", {"format": "jsonl"})
    export = tmp_path / "trail.jsonl"
    export.write_bytes(b"".join(response.streaming_content))
    database = audit_chain_verify(organization_id=personas.org.pk)

    run = offline(str(export), "--anchor", database.head_hash)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == [f"organization {personas.org.pk}: {database.summary}"]

    lines = export.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[1])
    edited["object_label"] = "not what happened"
    lines[1] = json.dumps(edited, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")

    run = offline(str(export))

    assert run.returncode == 1
    assert "broken at event 2: stored hash" in run.stdout


def test_the_cli_reads_standard_input_and_reports_an_unknown_anchor() -> None:
    text = "".join(json.dumps(r) + "\n" for r in chain(3) + chain(2, organization=None))

    run = offline("-", "--anchor", "ab" * 32, stdin=text)

    assert run.returncode == 1
    assert run.stdout.splitlines()[:2] == [
        f"platform: 2 events, chain intact, head {chain(2, None)[-1]['hash']}",
        f"organization 7: 3 events, chain intact, head {chain(3)[-1]['hash']}",
    ]
    assert f"anchor {'ab' * 32} is not in any verified chain" in run.stdout


def test_the_cli_refuses_a_file_that_is_not_an_export(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")

    run = offline(str(bad))

    assert run.returncode == 2
    assert "line 1: not JSON" in run.stderr
