"""Readers: every error code, with the line and field it names."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from tests.worker.readers.helpers import read_error, record, write_csv, write_jsonl
from worker.engine.readers import (
    DatasetFormatError,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# --- errors: text sanity -----------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_jsonl(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(content)
    err = read_error(path)
    assert err.code == "empty"
    assert "items.jsonl" in str(err)


def test_csv_with_only_a_header_is_empty(tmp_path: Path) -> None:
    err = read_error(write_csv(tmp_path / "items.csv", [["id", "question", "A", "B", "gold"]]))
    assert err.code == "empty"


def test_utf8_bom_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(b"\xef\xbb\xbfid,question,A,B,gold\n1,q,a,b,A\n")
    err = read_error(path)
    assert (err.code, err.line) == ("bom", 1)
    assert "without BOM" in str(err)


def test_utf16_file_is_an_encoding_error(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(json.dumps(record()).encode("utf-16"))
    err = read_error(path)
    assert err.code == "encoding" and "UTF-16" in str(err)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    good = json.dumps(record()).encode() + b"\n"
    bad = json.dumps(record(id="x", question="caf\u00e9"), ensure_ascii=False).encode()
    assert b"\xc3\xa9" in bad
    bad = bad.replace(b"\xc3\xa9", b"\xe9")  # the Latin-1 byte for "é"
    path.write_bytes(good + b"\n" + bad + b"\n")
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("encoding", 3, None)
    assert str(err).startswith("items.jsonl line 3: ") and "UTF-8" in str(err)


def test_nul_bytes_are_binary(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(json.dumps(record()).encode() + b"\n\x00\x01\x02\n")
    err = read_error(path)
    assert (err.code, err.line) == ("binary", 2)


def test_nul_bytes_past_the_first_block_are_binary_too(tmp_path: Path) -> None:
    lines = [json.dumps(record(id=str(n))) for n in range(200)]
    path = tmp_path / "items.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\x00garbage\n")
    err = read_error(path)
    assert (err.code, err.line) == ("binary", 201)


def test_excel_workbook_is_binary_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(b"PK\x03\x04" + b"rest of a zip")
    err = read_error(path)
    assert (err.code, err.line) == ("binary", 1) and "Excel" in str(err)


# --- errors: structure and values --------------------------------------------------------


def test_invalid_json_line(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(record()) + "\n" + '{"id": "x", "question": }\n', encoding="utf-8")
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("invalid_json", 2, None)


def test_json_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("[1, 2]\n", encoding="utf-8")
    assert (read_error(path).code, read_error(path).line) == ("invalid_json", 1)


def test_invalid_json_document_names_the_text_line(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text('[\n  {"id": "a"},\n  {"id": \n]\n', encoding="utf-8")
    err = read_error(path)
    assert (err.code, err.line) == ("invalid_json", 4)


def test_missing_field_names_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [record(), record(id="2", gold=...)])
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("missing_field", 2, "gold")
    assert str(err).startswith('items.jsonl line 2, field "gold": ')


def test_missing_field_hints_at_the_public_format(tmp_path: Path) -> None:
    row = {"question": "q", "options": {"A": "a", "B": "b"}, "answer_idx": "A"}
    err = read_error(write_jsonl(tmp_path / "medqa.jsonl", [row]))
    assert (err.code, err.line, err.field) == ("invalid_value", 1, "answer_idx")
    assert "--format medqa" in str(err)


def test_options_with_an_empty_text_give_the_documented_message(tmp_path: Path) -> None:
    opts = {"A": "a", "B": "b", "C": "", "D": "d", "E": "e"}
    records = [record(id=str(n)) for n in range(6)] + [record(id="bad", options=opts)]
    path = write_jsonl(tmp_path / "items.jsonl", records)
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("invalid_value", 7, "options")
    assert str(err).startswith(
        'items.jsonl line 7, field "options": must map letters A-E to non-empty text'
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"options": {"A": "a", "C": "c"}}, "options"),
        ({"options": {"A": "only one"}, "gold": ["A"]}, "options"),
        ({"options": ["a", "b"]}, "options"),
        ({"gold": ["E"]}, "gold"),
        ({"gold": []}, "gold"),
        ({"gold": ["A", "A"]}, "gold"),
        ({"task": "essay"}, "task"),
        ({"language": "English"}, "language"),
        ({"proposed": "A"}, "proposed"),
        ({"task": "fct", "proposed": "Z"}, "proposed"),
        ({"bias": {"vignette_id": "v"}}, "bias"),
        (
            {
                "task": "vignette",
                "bias": {"vignette_id": "v", "attribute": "sex", "value": "f", "variant": "other"},
            },
            "bias.variant",
        ),
        ({"metadata": [1]}, "metadata"),
        ({"speciality": "cardiology"}, "speciality"),
        ({"question": 5.5}, "question"),
    ],
)
def test_invalid_values_name_the_field(
    tmp_path: Path, overrides: dict[str, Any], field: str
) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [record(id="ok"), record(**overrides)])
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("invalid_value", 2, field)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"task": "fct"}, "proposed"),
        ({"task": "vignette"}, "bias"),
        (
            {"task": "vignette", "bias": {"vignette_id": "v", "attribute": "sex", "value": "f"}},
            "bias.variant",
        ),
        ({"question": "  "}, "question"),
        ({"options": None}, "options"),
    ],
)
def test_conditionally_required_fields(
    tmp_path: Path, overrides: dict[str, Any], field: str
) -> None:
    err = read_error(write_jsonl(tmp_path / "items.jsonl", [record(**overrides)]))
    assert (err.code, err.line, err.field) == ("missing_field", 1, field)


def test_duplicate_id_in_one_language(tmp_path: Path) -> None:
    records = [record(), record(language="fr"), record(id="other"), record(language="fr")]
    err = read_error(write_jsonl(tmp_path / "items.jsonl", records))
    assert (err.code, err.line, err.field) == ("duplicate_id", 4, "id")
    assert "line 2" in str(err) and '"kn-001"' in str(err)


def test_duplicate_id_in_json_array_uses_the_item_index(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps([record(), record(id="b"), record()]), encoding="utf-8")
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("duplicate_id", 2, "id")
    assert str(err).startswith('items.json [2], field "id": ')


@pytest.mark.parametrize(
    ("document", "hint"),
    [({"version": 2, "templates": []}, ""), ({"123": {"QUESTION": "q"}}, "--format pubmedqa")],
)
def test_json_object_that_is_not_a_list_of_items(
    tmp_path: Path, document: dict[str, Any], hint: str
) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    err = read_error(path)
    assert (err.code, err.line) == ("invalid_json", None)
    assert hint in str(err)


def test_json_item_error_uses_the_item_index(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"items": [record(), record(id="b", gold=["Q"])]}))
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("invalid_value", 1, "gold")


def test_csv_errors_count_the_header_as_line_one(tmp_path: Path) -> None:
    rows = [
        ["id", "question", "A", "B", "C", "gold"],
        ["1", "q", "a", "b", "", "A"],
        ["2", "q", "a", "", "c", "A"],
    ]
    err = read_error(write_csv(tmp_path / "items.csv", rows))
    assert (err.code, err.line, err.field) == ("invalid_value", 3, "options")


def test_csv_line_numbers_follow_multiline_cells(tmp_path: Path) -> None:
    header = ["id", "question", "A", "B", "gold"]
    after = [header, ["1", "line one\nline two", "a", "b", "A"], ["2", "q", "a", "b", "C"]]
    err = read_error(write_csv(tmp_path / "after.csv", after))
    assert (err.code, err.line, err.field) == ("invalid_value", 4, "gold")
    # An error inside a multi-line record points at the line the record starts on.
    inside = [header, ["1", "q", "a", "b", "A"], ["2", "line one\nline two", "a", "b", "C"]]
    err = read_error(write_csv(tmp_path / "inside.csv", inside))
    assert (err.code, err.line, err.field) == ("invalid_value", 3, "gold")


def test_csv_missing_and_unknown_columns(tmp_path: Path) -> None:
    err = read_error(write_csv(tmp_path / "a.csv", [["id", "question", "A", "B"], ["1"] * 4]))
    assert (err.code, err.line, err.field) == ("missing_field", 1, "gold")
    err = read_error(write_csv(tmp_path / "b.csv", [["id", "question", "A", "B", "gold", "notes"]]))
    assert (err.code, err.line, err.field) == ("invalid_value", 1, "notes")


def test_csv_ragged_row_and_semicolon_file(tmp_path: Path) -> None:
    rows = [["id", "question", "A", "B", "gold"], ["1", "q", "a", "b"]]
    err = read_error(write_csv(tmp_path / "a.csv", rows))
    assert (err.code, err.line) == ("invalid_value", 2)
    path = tmp_path / "b.csv"
    path.write_text("id;question;A;B;gold\n1;q;a;b;A\n", encoding="utf-8")
    err = read_error(path)
    assert err.code == "invalid_value" and "semicolon" in str(err)


@pytest.mark.parametrize(
    ("name", "fmt"), [("items.txt", None), ("items", None), ("items.jsonl", "xml")]
)
def test_unsupported_format(tmp_path: Path, name: str, fmt: str | None) -> None:
    path = write_jsonl(tmp_path / name, [record()])
    assert read_error(path, fmt=fmt).code == "unsupported_format"


def test_folder_given_to_a_file_format_and_file_given_to_hf_disk(tmp_path: Path) -> None:
    assert read_error(tmp_path, fmt="jsonl").code == "unsupported_format"
    path = write_jsonl(tmp_path / "items.jsonl", [record()])
    assert read_error(path, fmt="hf_disk").code == "unsupported_format"


def test_error_survives_pickling_for_celery() -> None:
    err = DatasetFormatError(
        "bad", file="/x/items.jsonl", code="invalid_value", line=3, field="gold"
    )
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.line, copy.field, copy.code) == (
        "/x/items.jsonl",
        3,
        "gold",
        "invalid_value",
    )
    assert str(copy) == str(err) == 'items.jsonl line 3, field "gold": bad'
    assert isinstance(copy, ValueError)
