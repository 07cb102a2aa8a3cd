"""`python -m worker.engine`: make-tiny-model and evaluate, with clean one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from worker.engine.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _mcq(item_id: str, question: str, gold: str, **extra: Any) -> dict[str, Any]:
    options = {"A": "Aspirin", "B": "Warfarin", "C": "Insulin", "D": "Metformin"}
    return {"id": item_id, "question": question, "options": options, "gold": [gold], **extra}


def _vignette(vid: str, attribute: str, value: str, variant: str, who: str) -> dict[str, Any]:
    bias = {"vignette_id": vid, "attribute": attribute, "value": value, "variant": variant}
    return _mcq(
        f"{vid}-{value}",
        f"A {who} has chest pain. Which drug first?",
        "A",
        task="vignette",
        bias=bias,
    )


def _dataset(path: Path) -> Path:
    nota_options = {"A": "Warfarin", "B": "None of the above", "C": "Insulin"}
    fake_options = {"A": "Aspirin", "B": "Insulin", "C": "I do not know"}
    records = [
        _mcq("kn-1", "Which drug is chewed in a heart attack?", "A", specialty="cardiology"),
        _mcq("kn-2", "Which drug is first-line for type 2 diabetes?", "D", specialty="endocrine"),
        _mcq("kn-3", "Which drug is an anticoagulant?", "B", specialty="cardiology"),
        _mcq("kn-4", "Which hormone lowers blood glucose?", "C", specialty="endocrine"),
        {
            "id": "nota-1",
            "question": "Which drug cures a fracture?",
            "options": nota_options,
            "gold": ["B"],
            "task": "nota",
        },
        {
            "id": "fake-1",
            "question": "Which drug treats purple lung fever?",
            "options": fake_options,
            "gold": ["C"],
            "task": "fake",
        },
        _mcq("fct-1", "Which drug is chewed in a heart attack?", "A", task="fct", proposed="B"),
        _vignette("v1", "paraphrase", "base", "base", "56-year-old man"),
        _vignette("v1", "sex", "female", "demographic", "56-year-old woman"),
        _vignette("v1", "paraphrase", "paraphrase", "paraphrase", "man aged 56"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _parallel(path: Path) -> Path:
    records = [
        _mcq("kn-1", "Which drug is chewed in a heart attack?", "A", parallel_id="p1"),
        _mcq("kn-1", "Quel médicament est mâché lors d'un infarctus?", "A", language="fr",
             parallel_id="p1"),
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_make_tiny_model_then_evaluate_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("worker.engine.checks")
    model = tmp_path / "model"
    assert main(["make-tiny-model", str(model)]) == 0
    assert (model / "config.json").exists() and (model / "tokenizer.json").exists()
    capsys.readouterr()

    out = tmp_path / "results.json"
    status = main(
        [
            "evaluate",
            "--model", str(model),
            "--dataset", f"knowledge,hallucination,bias={_dataset(tmp_path / 'items.jsonl')}",
            "--dataset", f"multilingual={_parallel(tmp_path / 'parallel.jsonl')}",
            "--check", "knowledge,hallucination,bias,multilingual",
            "--seed", "3",
            "--batch-size", "4",
            "--out", str(out),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0, captured.err
    result = json.loads(out.read_text())
    assert [c["check"] for c in result["checks"]] == [
        "knowledge",
        "hallucination",
        "bias",
        "multilingual",
    ]
    assert result["manifest"]["seed"] == 3
    datasets = result["manifest"]["datasets"]
    assert [(d["name"], d["checks"]) for d in datasets] == [
        ("items.jsonl", ["knowledge", "hallucination", "bias"]),
        ("parallel.jsonl", ["multilingual"]),
    ]
    # Each dataset only reaches its checks: knowledge sees its 4 items, not the French one.
    knowledge = result["checks"][0]
    [accuracy] = [m for m in knowledge["metrics"] if m["name"] == "accuracy" and not m["group"]]
    assert accuracy["n"] == 4 and accuracy["method"] == "wilson" and accuracy["level"] == 0.95
    assert result["items"]
    assert result["manifest"]["effective_config"]["knowledge"]["normalization"] == "byte"
    assert result["manifest"]["engine"]["source_sha256"]
    header = captured.out.splitlines()[0].split()
    assert header == ["check", "metric", "value", "CI", "n", "verdict"]
    assert "knowledge" in captured.out and f"wrote {out}" in captured.out


def test_bad_dataset_is_a_one_line_error(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("worker.engine.readers")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "Q?"}\n')
    status = main(
        ["evaluate", "--model", str(tiny_model_dir), "--dataset", str(bad),
         "--check", "knowledge", "--out", str(tmp_path / "r.json")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_model_path_exits_2_without_traceback(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path / "items.jsonl")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "worker.engine", "evaluate", "--model", str(tmp_path / "nope"),
         "--dataset", str(dataset), "--check", "knowledge", "--out", str(tmp_path / "r.json")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"error: model folder not found: {tmp_path / 'nope'}"


FORMAT_SAMPLES = [
    ("medqa.jsonl", "medqa", "knowledge"),
    ("medmcqa_original.jsonl", "medmcqa", "knowledge"),
    ("medmcqa_hf.jsonl", "medmcqa", "knowledge"),
    ("pubmedqa_ori_pqal.json", "pubmedqa", "knowledge"),
    ("mmedbench_French.jsonl", "mmedbench", "knowledge"),
    ("medhalt_reasoning_nota.csv", "medhalt", "hallucination"),
    ("medhalt_reasoning_fake.csv", "medhalt", "hallucination"),
]


@pytest.mark.parametrize(("filename", "fmt", "check"), FORMAT_SAMPLES)
def test_evaluate_reads_each_public_format_sample(
    filename: str,
    fmt: str,
    check: str,
    tiny_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = ROOT / "fixtures" / "evaluation" / "formats" / filename
    out = tmp_path / "results.json"

    status = main([
        "evaluate", "--model", str(tiny_model_dir), "--dataset", str(sample),
        "--format", fmt, "--check", check, "--out", str(out),
    ])  # fmt: skip

    assert status == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    [only] = result["checks"]
    n_scored = sum(metric["n"] for metric in only["metrics"] if metric["group"] is None)
    assert n_scored > 0, only["metrics"]
    assert {record["item_id"] for record in result["items"]}


def _evaluate(*args: str) -> list[str]:
    return ["evaluate", *args]


def test_a_dataset_for_several_checks_must_name_them(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _dataset(tmp_path / "items.jsonl")
    status = main(_evaluate(
        "--model", str(tiny_model_dir), "--dataset", str(dataset),
        "--check", "knowledge,bias", "--out", str(tmp_path / "r.json"),
    ))  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert f"name the checks it is for, e.g. --dataset knowledge={dataset}" in err
    status = main(_evaluate(
        "--model", str(tiny_model_dir), "--dataset", f"knowledge={dataset}",
        "--check", "knowledge,bias", "--out", str(tmp_path / "r.json"),
    ))  # fmt: skip
    assert status == 2
    assert "no --dataset is for check bias; add --dataset bias=FILE" in capsys.readouterr().err


def test_multilingual_refuses_a_dataset_without_parallel_id(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = ROOT / "fixtures" / "evaluation" / "formats" / "mmedbench_French.jsonl"
    status = main(_evaluate(
        "--model", str(tiny_model_dir), "--dataset", f"multilingual={sample}",
        "--format", "mmedbench", "--check", "multilingual", "--out", str(tmp_path / "r.json"),
    ))  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and "only through an explicit parallel_id" in err
    assert not (tmp_path / "r.json").exists()


def test_mmedbench_language_comes_from_the_flag_whatever_the_file_name(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = tmp_path / "questions.jsonl"
    sample.write_bytes(
        (ROOT / "fixtures" / "evaluation" / "formats" / "mmedbench_French.jsonl").read_bytes()
    )
    out = tmp_path / "r.json"
    base = ["--model", str(tiny_model_dir), "--dataset", str(sample), "--format", "mmedbench"]
    assert main(_evaluate(*base, "--check", "knowledge", "--out", str(out))) == 2
    assert "--language es" in capsys.readouterr().err
    status = main(_evaluate(*base, "--language", "es", "--check", "knowledge", "--out", str(out)))
    assert status == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    assert {r["language"] for r in result["items"]} == {"es"}
    assert result["manifest"]["datasets"][0]["language"] == "es"


def test_hf_disk_folder_is_read_scored_and_digested(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [_mcq(f"kn-{i}", f"Question {i}?", "A") for i in range(3)]
    folder = tmp_path / "saved"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    out = tmp_path / "r.json"
    status = main(_evaluate(
        "--model", str(tiny_model_dir), "--dataset", str(folder), "--format", "hf_disk",
        "--check", "knowledge", "--out", str(out),
    ))  # fmt: skip
    assert status == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    [entry] = result["manifest"]["datasets"]
    assert entry["format"] == "hf_disk" and len(entry["sha256"]) == 64


def test_rerun_is_bit_identical_and_refuses_a_changed_dataset(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _dataset(tmp_path / "items.jsonl")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    status = main(_evaluate(
        "--model", str(tiny_model_dir), "--dataset", f"knowledge,bias={dataset}",
        "--check", "knowledge,bias", "--seed", "4", "--out", str(first),
    ))  # fmt: skip
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["rerun", str(first), "--out", str(second)]) == 0, capsys.readouterr()
    assert "reproduced" in capsys.readouterr().out
    again = json.loads(second.read_text())
    assert again["manifest"]["rerun_of"]["reproduced"] is True
    assert again["checks"] == json.loads(first.read_text())["checks"]

    # A result edited by hand no longer reproduces: exit 1 with the differences listed.
    edited = json.loads(first.read_text())
    edited["checks"][0]["metrics"][0]["value"] = 0.123
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    assert main(["rerun", str(tmp_path / "edited.json"), "--out", str(second)]) == 1
    assert "checks[0].metrics[0].value: 0.123 !=" in capsys.readouterr().out

    with dataset.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(_mcq("kn-9", "Which drug is new?", "A")) + "\n")
    assert main(["rerun", str(first), "--out", str(tmp_path / "third.json")]) == 1
    err = capsys.readouterr().err
    assert f"error: not rerun: dataset {dataset} changed: sha256 recorded" in err
    assert not (tmp_path / "third.json").exists()
