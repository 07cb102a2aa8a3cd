"""Readers: the public formats (MedQA, MedMCQA, PubMedQA, MMedBench, Med-HALT, HF on disk)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.worker.readers.helpers import SAMPLES, read_error, record, write_csv, write_jsonl
from worker.engine.readers import (
    read_items,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# --- sample files of the public formats ----------------------------------------------------


def test_sample_medqa() -> None:
    items = read_items(SAMPLES / "medqa.jsonl", fmt="medqa")
    assert [item.id for item in items] == [f"medqa-{n}" for n in range(1, 6)]
    assert [item.gold for item in items] == [("C",), ("B",), ("A",), ("C",), ("E",)]
    assert items[0].options["C"] == "Right coronary artery"
    assert {item.source for item in items} == {"medqa"}


@pytest.mark.parametrize(("name", "base"), [("medmcqa_original.jsonl", 1), ("medmcqa_hf.jsonl", 0)])
def test_sample_medmcqa_both_conventions_give_the_same_gold(name: str, base: int) -> None:
    items = read_items(SAMPLES / name, fmt="medmcqa")
    assert [item.gold for item in items] == [("B",), ("C",), ("D",), ("A",), ("C",)]
    assert items[0].specialty == "Anatomy" and items[0].id == "sample-medmcqa-001"
    assert {item.metadata["cop_base"] for item in items} == {base}
    assert {item.metadata["cop_base_source"] for item in items} == {"detected"}


def test_sample_pubmedqa_ori_pqal() -> None:
    items = read_items(SAMPLES / "pubmedqa_ori_pqal.json", fmt="pubmedqa")
    assert [item.id for item in items] == ["90000001", "90000002", "90000003", "90000004"]
    assert [item.gold for item in items] == [("A",), ("B",), ("C",), ("A",)]
    assert items[0].options == {"A": "yes", "B": "no", "C": "maybe"}
    assert len(items[0].context) == 3 and items[0].metadata["pmid"] == "90000001"


def test_sample_mmedbench_french_has_multi_answer_items() -> None:
    items = read_items(SAMPLES / "mmedbench_French.jsonl", fmt="mmedbench")
    assert {item.language for item in items} == {"fr"}
    assert [item.gold for item in items] == [
        ("A", "C"),
        ("A",),
        ("A", "C", "D"),
        ("A",),
        ("A", "C", "E"),
    ]
    assert items[0].metadata["rationale"].startswith("Exemple")


def test_sample_medhalt_nota() -> None:
    items = read_items(SAMPLES / "medhalt_reasoning_nota.csv", fmt="medhalt")
    assert [item.task for item in items] == ["nota"] * 4
    assert [item.gold for item in items] == [("B",), ("D",), ("A",), ("C",)]
    assert all(item.options[item.gold[0]] == "None of the above" for item in items)
    assert items[2].metadata["exam_name"] == "Cuaderno_2016_1_M"


def test_sample_medhalt_fake() -> None:
    items = read_items(SAMPLES / "medhalt_reasoning_fake.csv", fmt="medhalt")
    assert [item.task for item in items] == ["fake"] * 4
    assert all(item.options[item.gold[0]] == "I do not know" for item in items)
    assert all(len(item.options) == 6 for item in items)


# --- public formats: behaviour -----------------------------------------------------------


def medmcqa(cop: Any, n: int = 1) -> dict[str, Any]:
    return {
        "id": f"m{n}",
        "question": f"q{n}",
        "opa": "a",
        "opb": "b",
        "opc": "c",
        "opd": "d",
        "cop": cop,
        "subject_name": "Anatomy",
    }


def test_medmcqa_zero_in_file_means_zero_based(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [medmcqa(2, 1), medmcqa(0, 2), medmcqa(3, 3)])
    assert [item.gold for item in read_items(path, fmt="medmcqa")] == [("C",), ("A",), ("D",)]


def test_medmcqa_four_in_file_means_one_based(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [medmcqa(2, 1), medmcqa(4, 2), medmcqa("1", 3)])
    assert [item.gold for item in read_items(path, fmt="medmcqa")] == [("B",), ("D",), ("A",)]


def test_medmcqa_ambiguous_file_assumes_one_based_and_says_so(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [medmcqa(1, 1), medmcqa(3, 2)])
    items = read_items(path, fmt="medmcqa")
    assert [item.gold for item in items] == [("A",), ("C",)]
    assert items[0].metadata["cop_base"] == 1
    assert items[0].metadata["cop_base_source"] == "assumed"


def test_medmcqa_mixing_zero_and_four_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [medmcqa(0, 1), medmcqa(1, 2), medmcqa(4, 3)])
    err = read_error(path, fmt="medmcqa")
    assert (err.code, err.line, err.field) == ("invalid_value", 3, "cop")


def test_medmcqa_json_array_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps([medmcqa(0, 1), medmcqa(2, 2)]), encoding="utf-8")
    items = read_items(path, fmt="medmcqa")
    assert [item.gold for item in items] == [("A",), ("C",)]


def test_mmedbench_language_comes_from_the_file_name(tmp_path: Path) -> None:
    row = {"question": "q", "options": {"A": "a", "B": "b"}, "answer_idx": "B"}
    assert (
        read_items(write_jsonl(tmp_path / "Chinese.jsonl", [row]), fmt="mmedbench")[0].language
        == "zh"
    )
    assert (
        read_items(tmp_path / "Chinese.jsonl", fmt="mmedbench", language="ja")[0].language == "ja"
    )
    err = read_error(write_jsonl(tmp_path / "test.jsonl", [row]), fmt="mmedbench")
    assert (err.code, err.field) == ("missing_field", "language")


def test_medqa_refuses_several_answers(tmp_path: Path) -> None:
    row = {"question": "q", "options": {"A": "a", "B": "b"}, "answer_idx": "A,B"}
    err = read_error(write_jsonl(tmp_path / "m.jsonl", [row]), fmt="medqa")
    assert (err.code, err.line, err.field) == ("invalid_value", 1, "answer_idx")


def test_pubmedqa_hf_rows_as_jsonl(tmp_path: Path) -> None:
    rows = [
        {
            "pubid": 111,
            "question": "q1",
            "context": {"contexts": ["c1", "c2"], "labels": ["A"]},
            "long_answer": "la",
            "final_decision": "maybe",
        },
        {"pubid": 222, "question": "q2", "context": {"contexts": ["c3"]}, "final_decision": "no"},
    ]
    items = read_items(write_jsonl(tmp_path / "pqa.jsonl", rows), fmt="pubmedqa")
    assert [(i.id, i.gold, i.context) for i in items] == [
        ("111", ("C",), ("c1", "c2")),
        ("222", ("B",), ("c3",)),
    ]


def test_pubmedqa_repeated_pmid_is_a_duplicate(tmp_path: Path) -> None:
    body = (
        '{"1": {"QUESTION": "q", "CONTEXTS": [], "final_decision": "yes"},\n'
        ' "1": {"QUESTION": "q", "CONTEXTS": [], "final_decision": "no"}}'
    )
    path = tmp_path / "ori_pqal.json"
    path.write_text(body, encoding="utf-8")
    err = read_error(path, fmt="pubmedqa")
    assert (err.code, err.line, err.field) == ("duplicate_id", 1, "id")


def test_pubmedqa_bad_decision_names_the_pmid(tmp_path: Path) -> None:
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps({"42": {"QUESTION": "q", "final_decision": "perhaps"}}))
    err = read_error(path, fmt="pubmedqa")
    assert (err.code, err.field) == ("invalid_value", "final_decision")
    assert '["42"]' in str(err)


MEDHALT_HEADER = [
    "id",
    "subject_name",
    "topic_name",
    "split_type",
    "dataset",
    "len",
    "year",
    "exam_name",
    "question",
    "options",
]


def medhalt_row(options: str, *extra: str, row_id: str = "h1") -> list[str]:
    return [row_id, "Anatomy", "", "val", "medmcqa", "5", "", "", "Which nerve?", options, *extra]


def test_medhalt_accepts_json_and_python_dicts_and_plain_mcq(tmp_path: Path) -> None:
    rows = [
        [*MEDHALT_HEADER, "correct_answer", "correct_index"],
        medhalt_row('{"0": "Radial", "1": "Ulnar"}', "Ulnar", "1", row_id="a"),
        medhalt_row(
            "{'0': 'Radial', '1': \"None of the above\"}", "None of the above", "1.0", row_id="b"
        ),
    ]
    items = read_items(write_csv(tmp_path / "nota.csv", rows), fmt="medhalt")
    assert [(item.task, item.gold) for item in items] == [("mcq", ("B",)), ("nota", ("B",))]


def test_medhalt_fct_row_has_the_student_answer_as_proposed(tmp_path: Path) -> None:
    rows = [
        [*MEDHALT_HEADER, "correct_answer", "correct_index", "student_answer", "student_index"],
        medhalt_row(
            "{'0': 'Radial', '1': 'Ulnar', 'correct answer': 'Radial'}", "Ulnar", "1", "Radial", "0"
        ),
    ]
    (item,) = read_items(write_csv(tmp_path / "fct.csv", rows), fmt="medhalt")
    assert (item.task, item.gold, item.proposed) == ("fct", ("B",), "A")
    assert item.options == {"A": "Radial", "B": "Ulnar"}


def test_medhalt_fake_row_without_abstain_option_gets_one(tmp_path: Path) -> None:
    rows = [MEDHALT_HEADER, medhalt_row("{'0': 'Moon nerve', '1': 'Sun nerve'}")]
    (item,) = read_items(write_csv(tmp_path / "fake.csv", rows), fmt="medhalt")
    assert item.task == "fake" and item.gold == ("C",)
    assert item.options["C"] == "I do not know"
    assert item.metadata["abstain_option_added"] == "C"


def test_medhalt_unparseable_options_name_line_and_field(tmp_path: Path) -> None:
    rows = [
        MEDHALT_HEADER,
        medhalt_row("{'0': 'a', '1': 'b'}", row_id="ok"),
        medhalt_row("{'0': 'a', '1': ", row_id="bad"),
    ]
    err = read_error(write_csv(tmp_path / "bad.csv", rows), fmt="medhalt")
    assert (err.code, err.line, err.field) == ("invalid_value", 3, "options")


def test_medhalt_out_of_range_index(tmp_path: Path) -> None:
    rows = [[*MEDHALT_HEADER, "correct_index"], medhalt_row("{'0': 'a', '1': 'b'}", "2")]
    err = read_error(write_csv(tmp_path / "bad.csv", rows), fmt="medhalt")
    assert (err.code, err.line, err.field) == ("invalid_value", 2, "correct_index")


# --- Hugging Face save_to_disk -----------------------------------------------------------


def test_hf_disk_medmcqa_copy_is_zero_based(tmp_path: Path) -> None:
    import datasets

    rows = [{**medmcqa(0, 1), "cop": 0}, {**medmcqa(3, 2), "cop": 3}]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "medmcqa"))
    items = read_items(tmp_path / "medmcqa")
    assert [item.gold for item in items] == [("A",), ("D",)]
    assert items[0].metadata["cop_base"] == 0


def test_hf_disk_canonical_rows_with_ragged_options(tmp_path: Path) -> None:
    import datasets

    rows = [
        record(options={"A": "a", "B": "b"}, gold=["A"], metadata={"k": 1}),
        record(id="kn-002", options={"A": "a", "B": "b", "C": "c"}, gold=["C"], metadata={}),
    ]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "canon"))
    items = read_items(tmp_path / "canon", fmt="hf_disk")
    assert [item.options for item in items] == [
        {"A": "a", "B": "b"},
        {"A": "a", "B": "b", "C": "c"},
    ]
    assert items[0].metadata == {"k": 1} and items[1].metadata == {}


def test_hf_disk_pubmedqa_mmedbench_medqa_and_medhalt_rows(tmp_path: Path) -> None:
    import datasets

    shapes: dict[str, list[dict[str, Any]]] = {
        "pubmedqa": [
            {"pubid": 7, "question": "q", "context": {"contexts": ["c"]}, "final_decision": "yes"}
        ],
        "Japanese": [
            {
                "question": "q",
                "options": {"A": "a", "B": "b", "C": "c"},
                "answer_idx": "A,C",
                "rationale": "r",
            }
        ],
        "medqa": [
            {
                "question": "q",
                "options": {"A": "a", "B": "b"},
                "answer_idx": "B",
                "meta_info": "step1",
            }
        ],
        "medhalt": [
            {
                "id": "h",
                "question": "q",
                "options": "{'0': 'a', '1': 'None of the above'}",
                "correct_index": 1,
                "split_type": "val",
            }
        ],
    }
    for name, rows in shapes.items():
        datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / name))
    assert read_items(tmp_path / "pubmedqa")[0].gold == ("A",)
    mmed = read_items(tmp_path / "Japanese")[0]
    assert (mmed.gold, mmed.language, mmed.source) == (("A", "C"), "ja", "mmedbench")
    medqa = read_items(tmp_path / "medqa")[0]
    assert (medqa.id, medqa.gold, medqa.source) == ("medqa-1", ("B",), "medqa")
    assert read_items(tmp_path / "medhalt")[0].task == "nota"


def test_hf_disk_dataset_dict_keeps_the_split(tmp_path: Path) -> None:
    import datasets

    rows = [{"question": "q", "options": {"A": "a", "B": "b"}, "answer_idx": "A"}]
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(rows), "test": datasets.Dataset.from_list(rows)}
    ).save_to_disk(str(tmp_path / "dd"))
    items = read_items(tmp_path / "dd", language="en")
    assert [item.metadata["split"] for item in items] == ["test", "train"]
    assert [item.id for item in items] == ["medqa-test-1", "medqa-train-1"]


def test_hf_disk_unknown_columns_and_non_dataset_folders(tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_list([{"foo": 1}]).save_to_disk(str(tmp_path / "odd"))
    assert read_error(tmp_path / "odd").code == "unsupported_format"
    (tmp_path / "plain").mkdir()
    assert read_error(tmp_path / "plain", fmt="hf_disk").code == "unsupported_format"
