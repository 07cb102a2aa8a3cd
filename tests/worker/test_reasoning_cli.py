"""`python -m worker.engine reasoning`: the reasoning-mode study from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.engine.__main__ import main
from worker.engine.stats import mcnemar

KNOWLEDGE = Path(__file__).resolve().parents[2] / "fixtures" / "evaluation" / "knowledge.jsonl"


def test_reasoning_study_writes_both_modes_costs_and_texts(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study.json"
    status = main(
        ["reasoning", "--model", str(tiny_model_dir), "--dataset", str(KNOWLEDGE),
         "--items", "12", "--reasoning-max-new-tokens", "16", "--price", "cpu=0.36",
         "--batch-size", "4", "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    study = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "reasoning - direct" in printed and "per 1,000 items" in printed
    assert [c["mode"] for c in study["costs"]] == ["direct", "reasoning"]
    for cost in study["costs"]:
        assert cost["items"] == 12 and cost["device"] == "cpu" and cost["price_per_hour"] == 0.36
        assert cost["cost_per_1000_items"] == pytest.approx(
            cost["wall_seconds"] / 12 * 1000 / 3600 * 0.36
        )
    # Unparseable answers are counted (and counted wrong), and each text is kept for review.
    records = study["items"]
    assert len(records) == 12 and all(isinstance(r["reasoning"]["text"], str) for r in records)
    unparsed = sum(r["reasoning"]["chosen"] is None for r in records)
    assert study["modes"]["reasoning"]["unparseable"] == unparsed
    overall = next(r for r in study["comparison"]["rows"] if r["dimension"] == "overall")
    assert overall["p_value"] == mcnemar(overall["newly_wrong"], overall["newly_right"]).p_value
    # The random tiny model's answers are noise, and the study says so.
    assert study["modes"]["reasoning"]["noise"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--price", "tpu=3"], "--price tpu=3: write cpu=PRICE or gpu=PRICE"),
        (["--items", "0"], "--items must be a positive integer"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    tmp_path: Path,
    tiny_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    status = main(
        ["reasoning", "--model", str(tiny_model_dir), "--dataset", str(KNOWLEDGE),
         "--out", str(tmp_path / "s.json"), *extra]
    )  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
