"""Readers refuse what PostgreSQL cannot store, and nesting deep enough to exhaust a stack.

Every JSON-reading format is probed with a `\\u0000` escape, a lone surrogate and a document
nested 100,000 levels deep; each answer is a DatasetFormatError naming the line and field.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.worker.readers.helpers import SAMPLES, read_error, record, write_csv, write_jsonl
from worker.engine.__main__ import main
from worker.engine.readers.storable import MAX_DEPTH, first_problem

NUL = "Which drug reverses \u0000 opioid overdose?"
SURROGATE = "Which drug \ud800 reverses opioid overdose?"


def _medqa(question: str) -> dict[str, object]:
    return {
        "question": question,
        "options": {"A": "Flumazenil", "B": "Naloxone"},
        "answer_idx": "B",
        "answer": "Naloxone",
    }


@pytest.mark.parametrize("text", [NUL, SURROGATE])
@pytest.mark.parametrize("fmt", ["jsonl", "medqa", "mmedbench"])
def test_jsonl_formats_name_the_line_and_field_of_unstorable_text(
    tmp_path: Path, fmt: str, text: str
) -> None:
    good = record() if fmt == "jsonl" else _medqa("Fine?")
    bad = record(id="kn-002", question=text) if fmt == "jsonl" else _medqa(text)
    name = "items_English.jsonl" if fmt == "mmedbench" else "items.jsonl"
    err = read_error(write_jsonl(tmp_path / name, [good, bad]), fmt=fmt)
    assert (err.code, err.line, err.field) == ("invalid_value", 2, "question")
    assert "line 2" in str(err) and 'field "question"' in str(err)


def test_json_document_names_the_line_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    body = [record(), record(id="kn-002", options={"A": "x", "B": "y\u0000"})]
    path.write_text(json.dumps(body, indent=1), encoding="utf-8")
    err = read_error(path)
    assert err.field == "[1].options.B" and "NUL" in str(err)
    raw_lines = path.read_text().splitlines()
    assert err.line is not None and "\\u0000" in raw_lines[err.line - 1]


def test_nul_in_a_key_is_refused(tmp_path: Path) -> None:
    err = read_error(write_jsonl(tmp_path / "items.jsonl", [record(metadata={"a\u0000": 1})]))
    assert err.line == 1 and err.field == "metadata.a\u0000"


def test_pubmedqa_document_with_nul_is_refused(tmp_path: Path) -> None:
    original = json.loads((SAMPLES / "pubmedqa_ori_pqal.json").read_text())
    pmid = next(iter(original))
    original[pmid]["QUESTION"] = NUL
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps(original, indent=2), encoding="utf-8")
    err = read_error(path, fmt="pubmedqa")
    assert err.field == f"{pmid}.QUESTION" and err.line is not None


def test_medmcqa_with_nul_is_refused(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (SAMPLES / "medmcqa_hf.jsonl").read_text().splitlines()]
    rows[0]["opa"] = "bad \u0000"
    err = read_error(write_jsonl(tmp_path / "medmcqa.jsonl", rows), fmt="medmcqa")
    assert (err.line, err.field) == (1, "opa")


def test_medhalt_options_cell_with_a_nul_escape_is_refused(tmp_path: Path) -> None:
    # A JSON options dict inside a CSV cell may also spell \u0000.
    sample = (SAMPLES / "medhalt_reasoning_fake.csv").read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(sample)))
    column = table[0].index("options")
    table[1][column] = '{"0": "first \\u0000", "1": "second"}'
    err = read_error(write_csv(tmp_path / "medhalt.csv", table), fmt="medhalt")
    assert err.line == 2 and err.field is not None and "NUL" in str(err)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("fmt", "name", "content"),
    [
        ("jsonl", "items.jsonl", '{"id": "x", "metadata": ' + DEEP + "}\n"),
        ("json", "items.json", DEEP),
        ("medqa", "medqa.jsonl", DEEP + "\n"),
        ("medmcqa", "medmcqa.jsonl", '{"metadata": ' + DEEP + "}\n"),
        ("mmedbench", "x_English.jsonl", DEEP + "\n"),
        ("pubmedqa", "ori_pqal.json", '{"1": ' + DEEP + "}"),
    ],
)
def test_deep_nesting_is_a_format_error_in_every_json_format(
    tmp_path: Path, fmt: str, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    err = read_error(path, fmt=fmt)
    assert err.code == "invalid_json" and "nested too deeply" in str(err)


def test_nesting_past_the_limit_but_within_the_parser_is_refused(tmp_path: Path) -> None:
    nested: object = "leaf"
    for _ in range(MAX_DEPTH + 1):
        nested = [nested]
    err = read_error(write_jsonl(tmp_path / "items.jsonl", [record(metadata={"x": nested})]))
    assert err.line == 1 and "nested more than" in str(err)


def test_first_problem_accepts_ordinary_text() -> None:
    assert first_problem({"q": "Ça va? 你好 😀", "o": ["a", {"b": "c"}]}) is None


@pytest.mark.parametrize(
    "content", [DEEP + "\n", json.dumps(record(question=NUL)) + "\n"], ids=["deep", "nul"]
)
def test_cli_gives_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    status = main(
        ["evaluate", "--model", str(tmp_path), "--dataset", str(bad),
         "--check", "knowledge", "--out", str(tmp_path / "r.json")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_cli_config_nested_too_deeply_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(DEEP, encoding="utf-8")
    dataset = write_jsonl(tmp_path / "items.jsonl", [record()])
    status = main(
        ["evaluate", "--model", str(tmp_path), "--dataset", str(dataset), "--config",
         str(config), "--check", "knowledge", "--out", str(tmp_path / "r.json")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and "nested too deeply" in err and len(err.strip().splitlines()) == 1


def test_hf_disk_rows_with_nul_are_refused_with_row_and_field(tmp_path: Path) -> None:
    import datasets

    rows = [record(), record(id="kn-002", question="bad \u0000 text")]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "canonical"))
    err = read_error(tmp_path / "canonical")
    assert err.field == "question" and "row [1]" in str(err) and "NUL" in str(err)
