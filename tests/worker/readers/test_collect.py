"""collect_errors: every error of a line-based file, each with the reader's own line and field."""

from __future__ import annotations

import json
from pathlib import Path

from worker.engine.readers.collect import collect_errors

OPTIONS = {"A": "yes", "B": "no"}


def _jsonl(path: Path, rows: list[dict[str, object] | str]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_a_clean_file_has_no_errors(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "ok.jsonl", [{"id": "a", "question": "Q?", "options": OPTIONS, "gold": ["A"]}]
    )
    assert collect_errors(path) == []


def test_every_bad_line_of_a_jsonl_file_is_reported_in_line_order(tmp_path: Path) -> None:
    rows: list[dict[str, object] | str] = [
        {"id": "a", "question": "Q?", "options": OPTIONS, "gold": ["A"]},
        {"id": "b", "question": "Q?", "options": OPTIONS, "gold": ["C"]},
        "{not json",
        {"id": "a", "question": "Q?", "options": OPTIONS, "gold": ["B"]},
        {"id": "d", "question": "Q?", "options": OPTIONS, "gold": ["A"], "typo": 1},
    ]
    errors = collect_errors(_jsonl(tmp_path / "items.jsonl", rows))
    assert [(e.line, e.code) for e in errors] == [
        (2, "invalid_value"),
        (3, "invalid_json"),
        (4, "duplicate_id"),
        (5, "invalid_value"),
    ]
    assert all(str(e).startswith(f"items.jsonl line {e.line}") for e in errors)


def test_csv_rows_are_collected_but_a_bad_header_is_reported_alone(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("id,question,A,B,gold\nc1,Q?,x,y,A\nc2,Q?,x,y,Z\nc3,Q?,x,y,Q\n")
    assert [e.line for e in collect_errors(rows)] == [3, 4]
    header = tmp_path / "header.csv"
    header.write_text("id,question,A,B,gold,colour\nc1,Q?,x,y,A\n")
    assert len(collect_errors(header)) == 1


def test_a_file_whose_every_line_is_wrong_lists_each_line_not_an_empty_file(tmp_path: Path) -> None:
    rows: list[dict[str, object] | str] = [
        {"id": "a", "question": "", "options": OPTIONS, "gold": ["A"]},
        {"id": "b", "question": "Q?", "options": {}, "gold": ["A"]},
    ]
    errors = collect_errors(_jsonl(tmp_path / "all.jsonl", rows))
    assert [e.line for e in errors] == [1, 2]


def test_collection_stops_at_the_limit(tmp_path: Path) -> None:
    rows: list[dict[str, object] | str] = [
        {"id": f"x{i}", "question": "Q?", "options": OPTIONS, "gold": ["Z"]} for i in range(10)
    ]
    assert len(collect_errors(_jsonl(tmp_path / "many.jsonl", rows), limit=3)) == 3
