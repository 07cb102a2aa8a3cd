"""Readers: our canonical JSONL/CSV/JSON, and large files read as streams."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from tests.worker.readers.helpers import read_error, record, write_csv, write_jsonl
from worker.engine.readers import (
    FORMATS,
    read_items,
    summarize_items,
)
from worker.engine.types import BiasInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# --- our canonical format ----------------------------------------------------------------


def test_reads_canonical_jsonl_with_every_field(tmp_path: Path) -> None:
    vignette = record(
        id="bias-001",
        task="vignette",
        language="es",
        specialty="cardiology",
        source="carealign-fixtures",
        context=["passage one", "passage two"],
        bias={
            "vignette_id": "v01",
            "attribute": "race_ethnicity",
            "value": "Black",
            "variant": "demographic",
        },
        metadata={"note": "x"},
    )
    fct = record(id="fct-001", task="fct", proposed="A", gold="B")
    path = write_jsonl(tmp_path / "items.jsonl", [record(), vignette, fct])

    first, second, third = read_items(path)

    assert first.id == "kn-001" and first.task == "mcq" and first.language == "en"
    assert first.gold == ("B",) and first.source == "carealign"
    assert list(first.options) == ["A", "B", "C", "D"]
    assert second.bias == BiasInfo("v01", "race_ethnicity", "Black", "demographic")
    assert second.context == ("passage one", "passage two")
    assert (second.language, second.specialty, second.metadata) == (
        "es",
        "cardiology",
        {"note": "x"},
    )
    assert third.task == "fct" and third.proposed == "A" and third.gold == ("B",)


def test_three_canonical_encodings_give_the_same_items(tmp_path: Path) -> None:
    records = [
        record(context=["p1", "p2"], specialty="toxicology", language="fr"),
        record(id="kn-002", gold=["A", "C"], options={"A": "x", "B": "y", "C": "z"}),
        record(
            id="bias-1",
            task="vignette",
            bias={
                "vignette_id": "v1",
                "attribute": "sex",
                "value": "female",
                "variant": "demographic",
            },
        ),
    ]
    jsonl = write_jsonl(tmp_path / "a.jsonl", records)
    as_json = tmp_path / "b.json"
    as_json.write_text(json.dumps(records), encoding="utf-8")
    wrapped = tmp_path / "c.json"
    wrapped.write_text(json.dumps({"items": records}), encoding="utf-8")
    header = [
        "id",
        "question",
        "A",
        "B",
        "C",
        "D",
        "gold",
        "language",
        "task",
        "specialty",
        "context",
        "vignette_id",
        "attribute",
        "value",
        "variant",
    ]
    opts = records[0]["options"]
    rows = [
        header,
        [
            "kn-001",
            records[0]["question"],
            *opts.values(),
            "B",
            "fr",
            "",
            "toxicology",
            "p1 || p2",
            "",
            "",
            "",
            "",
        ],
        [
            "kn-002",
            records[0]["question"],
            "x",
            "y",
            "z",
            "",
            "A;C",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "bias-1",
            records[0]["question"],
            *opts.values(),
            "B",
            "",
            "vignette",
            "",
            "",
            "v1",
            "sex",
            "female",
            "demographic",
        ],
    ]
    as_csv = write_csv(tmp_path / "d.csv", rows)

    expected = read_items(jsonl)
    assert len(expected) == 3
    assert read_items(as_json) == expected
    assert read_items(wrapped) == expected
    assert read_items(as_csv) == expected


def test_single_gold_letter_string_is_accepted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [record(gold="D")])
    assert read_items(path)[0].gold == ("D",)


def test_language_argument_is_the_default_for_rows_without_one(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [record(), record(id="x", language="ja")])
    assert [item.language for item in read_items(path, language="de")] == ["de", "ja"]


def test_same_id_in_two_languages_is_allowed(tmp_path: Path) -> None:
    records = [record(language=lang) for lang in ("en", "zh", "ja", "fr", "ru", "es")]
    items = read_items(write_jsonl(tmp_path / "parallel.jsonl", records))
    assert [item.id for item in items] == ["kn-001"] * 6
    assert summarize_items(items)["languages"] == ["en", "es", "fr", "ja", "ru", "zh"]


def test_summarize_items_counts_rows_languages_specialties_tasks(tmp_path: Path) -> None:
    records = [
        record(specialty="cardiology"),
        record(id="2", specialty="neurology", language="fr"),
        record(id="3", specialty="cardiology", task="nota"),
        record(
            id="4",
            task="vignette",
            bias={
                "vignette_id": "v",
                "attribute": "sex",
                "value": "female",
                "variant": "demographic",
            },
        ),
    ]
    summary = summarize_items(read_items(write_jsonl(tmp_path / "s.jsonl", records)))
    assert summary == {
        "row_count": 4,
        "languages": ["en", "fr"],
        "specialties": ["cardiology", "neurology"],
        "tasks": {"mcq": 2, "nota": 1, "vignette": 1},
        "demographics": {"sex": ["female"]},
    }


def test_formats_constant_is_the_public_list() -> None:
    assert FORMATS == (
        "jsonl",
        "csv",
        "json",
        "medqa",
        "medmcqa",
        "pubmedqa",
        "mmedbench",
        "medhalt",
        "hf_disk",
    )


# --- large files -------------------------------------------------------------------------


def test_reads_50k_line_jsonl_streaming(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for n in range(50_000):
            fh.write(json.dumps(record(id=f"id-{n}", language="en" if n % 2 else "fr")) + "\n")
    items = read_items(path)
    assert len(items) == 50_000 and items[-1].id == "id-49999"


def test_error_on_the_last_of_50k_csv_lines_names_it(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "question", "A", "B", "gold"])
        writer.writerows([f"id-{n}", "q", "a", "b", "A"] for n in range(49_998))
        writer.writerow(["last", "q", "a", "b", "X"])
    err = read_error(path)
    assert (err.code, err.line, err.field) == ("invalid_value", 50_000, "gold")
