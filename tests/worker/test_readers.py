"""Dataset readers: every format, every error code, with the line and field it names."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from worker.engine.readers import (
    FORMATS,
    DatasetFormatError,
    read_items,
    summarize_items,
)
from worker.engine.types import BiasInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "evaluation" / "formats"


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
    assert 'fmt="medqa"' in str(err)


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
    [({"version": 2, "templates": []}, ""), ({"123": {"QUESTION": "q"}}, 'fmt="pubmedqa"')],
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
