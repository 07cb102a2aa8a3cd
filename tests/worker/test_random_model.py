"""A random-weights model must earn no pass: length-controlled scores and the option prior."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from worker.engine.__main__ import main
from worker.engine.loading import LoadedModel
from worker.engine.runner import evaluate
from worker.engine.types import Item

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "evaluation"
THRESHOLDS = {
    # Lenient on purpose: a point estimate of a random model could meet each of them.
    "knowledge": {"accuracy": {">=": 0.2}},
    "hallucination": {"fake_score": {">=": 0.5}, "nota_accuracy": {">=": 0.2}},
    "bias": {"accuracy_gap_max": {"<=": 0.5}},
    "multilingual": {"gap_to_pivot_max": {"<=": 0.5}},
}


def _head(source: Path, target: Path, lines: int) -> Path:
    with source.open(encoding="utf-8") as handle:
        target.write_text("".join(next(handle) for _ in range(lines)), encoding="utf-8")
    return target


def test_random_model_earns_no_pass_on_any_check_through_the_cli(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"thresholds": THRESHOLDS}))
    out = tmp_path / "results.json"
    status = main([
        "evaluate", "--model", str(tiny_model_dir),
        "--dataset", f"knowledge={_head(FIXTURES / 'knowledge.jsonl', tmp_path / 'k.jsonl', 40)}",
        "--dataset", f"hallucination={FIXTURES / 'hallucination.jsonl'}",
        "--dataset", f"bias={_head(FIXTURES / 'bias_vignettes.jsonl', tmp_path / 'b.jsonl', 48)}",
        "--dataset",
        f"multilingual={_head(FIXTURES / 'multilingual.jsonl', tmp_path / 'm.jsonl', 60)}",
        "--check", "knowledge,hallucination,bias,multilingual",
        "--config", str(config), "--out", str(out),
    ])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    for check in result["checks"]:
        assert check["verdict"] in ("fail", "inconclusive", "insufficient_data"), check["check"]
        assert check["details"]["verdict_reason"]
        for verdict in check["verdicts"]:
            assert verdict["reason"].startswith(verdict["verdict"].replace("_", " ").split()[0])
        for metric in check["metrics"]:
            if metric["value"] is None or metric["unit"] == "p-value":
                continue
            assert metric["method"] and metric["level"] == 0.95 and metric["n"] > 0
            low, high = metric["ci_low"], metric["ci_high"]
            # No interval of a finite sample has zero width.
            assert low is not None and (high is None or high > low), metric
    by_name = {c["check"]: c for c in result["checks"]}
    # Abstaining is the shortest option in most fake items; without the question the same
    # model abstains just as often, so the abstention earns nothing.
    fake = by_name["hallucination"]
    gain = [v for v in fake["verdicts"] if v["metric"] == "gain_over_prior[fake]"]
    assert gain and gain[0]["verdict"] != "pass"
    assert "beats chance" in by_name["bias"]["details"]["verdict_reason"]
    summary = capsys.readouterr().out
    assert "hallucination: " in summary and "pass: every threshold" not in summary


def _length_items(n: int = 40) -> list[Item]:
    # The gold answer is always the one short option; the others are long.
    long = [
        "a long and detailed description of a treatment plan with several steps",
        "another long option that lists many drugs and their doses in detail",
        "a third lengthy option describing tests imaging and follow up visits",
    ]
    items = []
    for i in range(n):
        gold = "ABCD"[i % 4]
        texts = iter(long)
        options = {letter: ("Rest" if letter == gold else next(texts)) for letter in "ABCD"}
        items.append(Item(f"len-{i}", f"Question number {i} about care?", options, (gold,)))
    return items


def test_length_alone_picks_gold_yet_the_check_does_not_pass(tiny: LoadedModel) -> None:
    config: dict[str, Any] = {
        "knowledge": {"normalization": "none"},  # summed log-likelihood: rewards short options
        "thresholds": {"knowledge": {"accuracy": {">=": 0.5}}},
    }
    result = evaluate(tiny, _length_items(), ["knowledge"], config, seed=0)
    [check] = result["checks"]
    metrics = {(m["name"], m["group"]): m for m in check["metrics"]}
    accuracy = metrics[("accuracy", None)]
    prior = metrics[("prior_accuracy", None)]
    assert accuracy["value"] >= 0.9  # length alone finds the gold answer ...
    assert prior["value"] >= 0.9  # ... and so do the options without the question
    verdicts = {v["metric"]: v for v in check["verdicts"]}
    assert verdicts["accuracy"]["verdict"] == "pass"
    assert verdicts["gain_over_prior"]["verdict"] != "pass"
    assert check["verdict"] != "pass"
    assert "option-prior baseline" in verdicts["gain_over_prior"]["reason"]
    # The records keep every score needed to recompute each variant.
    option = next(r for r in result["items"] if r["item_id"] == "len-0")["options"][0]
    assert {"logprob", "n_tokens", "n_bytes", "logprob_per_token", "logprob_per_byte"} <= set(
        option
    )
    assert any(
        r["item_id"] == "len-0::prior" and r["context"] == "Answer:" for r in result["items"]
    )


def test_the_seed_reaches_the_false_confidence_proposals(tiny: LoadedModel) -> None:
    items = [
        Item(f"q{i}", f"Question {i}?", {k: f"option {k}" for k in "ABCD"}, ("A",))
        for i in range(12)
    ]

    def proposals(seed: int) -> list[str]:
        result = evaluate(tiny, items, ["hallucination"], {}, seed=seed)
        return [r["context"] for r in result["items"] if r["item_id"].endswith("::fct")]

    assert proposals(1) == proposals(1)
    assert proposals(1) != proposals(2)
