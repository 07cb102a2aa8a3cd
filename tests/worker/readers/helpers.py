"""Helpers shared by the reader tests: records and files written in a test's tmp dir."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from worker.engine.readers import DatasetFormatError, read_items

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "evaluation" / "formats"


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "kn-001",
        "question": "Which drug reverses opioid overdose?",
        "options": {"A": "Flumazenil", "B": "Naloxone", "C": "Atropine", "D": "Glucagon"},
        "gold": ["B"],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not ...}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def read_error(path: Path, **kwargs: Any) -> DatasetFormatError:
    with pytest.raises(DatasetFormatError) as info:
        read_items(path, **kwargs)
    return info.value
