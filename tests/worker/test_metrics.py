"""The evaluate metric modules: loading by path offline, and their computations by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from worker.engine.metrics import METRIC_NAMES, compute_metric, load_metric, metric_path

REPO = Path(__file__).resolve().parents[2]
BOOT = {"seed": 0, "n_resamples": 200}

# A fresh interpreter, since evaluate reads HF_HOME when it is first imported.
_LOAD_ALL = """
import json, sys
import evaluate
inputs = json.loads(sys.argv[1])
out = {}
for name, path in json.loads(sys.argv[2]).items():
    module = evaluate.load(path, keep_in_memory=True)
    out[name] = {"module": type(module).__module__, "result": module.compute(**inputs[name])}
print(json.dumps(out))
"""

SMALL_INPUTS: dict[str, dict[str, Any]] = {
    "medqa_accuracy": {
        "predictions": ["A", "B"],
        "references": [["A"], ["A"]],
        "option_letters": [["A", "B"], ["A", "B"]],
        "option_scores": [[-0.1, -2.0], [-1.0, -0.5]],
        "groups": ["cardiology", ""],
        "n_resamples": 50,
    },
    "medhalt": {
        "tests": ["fake"],
        "predictions": [""],
        "references": [["C"]],
        "abstain_letters": [["C"]],
        "generations": ["I do not know."],
        "answer_texts": [""],
        "contexts": [""],
        "n_resamples": 50,
    },
    "counterfactual_bias": {
        "vignette_ids": ["v1", "v1"],
        "attributes": ["base", "sex"],
        "values": ["base", "female"],
        "variants": ["base", "demographic"],
        "predictions": ["A", "B"],
        "references": [["A"], ["A"]],
        "n_resamples": 50,
    },
    "multilingual": {
        "ids": ["q1", "q1"],
        "languages": ["en", "fr"],
        "predictions": ["A", "A"],
        "references": [["A"], ["B"]],
        "n_resamples": 50,
    },
}


def test_every_module_loads_by_path_offline_into_a_fresh_hf_home(tmp_path: Path) -> None:
    hf_home = tmp_path / "hf"
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    paths = {name: str(metric_path(name)) for name in METRIC_NAMES}
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD_ALL, json.dumps(SMALL_INPUTS), json.dumps(paths)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["medqa_accuracy"]["result"]["accuracy"]["value"] == 0.5
    assert out["medhalt"]["result"]["fake"]["accuracy"]["value"] == 1.0
    bias = out["counterfactual_bias"]["result"]["attributes"]["sex"]
    assert bias["flip_rate"]["value"] == 1.0
    assert out["multilingual"]["result"]["consistency"]["value"] == 1.0
    for name in METRIC_NAMES:
        # evaluate copied each script into the temporary HF_HOME's module cache.
        assert out[name]["module"].startswith("evaluate_modules.metrics.")
        assert list(hf_home.glob(f"modules/evaluate_modules/metrics/{name}/*/{name}.py"))


def test_load_metric_loads_each_module_once_per_process() -> None:
    assert load_metric("medhalt") is load_metric("medhalt")
    info = load_metric("medhalt").info
    assert "Med-HALT" in info.description and "pal2023medhalt" in info.citation
    assert "tests" in info.features


def test_load_metric_rejects_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown metric module 'accuracy'.*medhalt"):
        load_metric("accuracy")


def test_medqa_accuracy_counts_an_empty_prediction_as_wrong_and_groups_by_specialty() -> None:
    out = compute_metric(
        "medqa_accuracy",
        predictions=["A", "", "C", "A,B"],
        references=[["A"], ["B"], ["B"], ["A", "B"]],
        option_letters=[["A", "B", "C"]] * 4,
        option_scores=[[0.0, -9.0, -9.0], [], [-9.0, -9.0, 0.0], []],
        groups=["cardiology", "cardiology", "oncology", ""],
        **BOOT,
    )
    assert out["accuracy"]["value"] == pytest.approx(0.5)
    assert out["accuracy"]["n"] == 4
    assert out["accuracy_by_group"]["cardiology"]["value"] == pytest.approx(0.5)
    assert out["accuracy_by_group"]["oncology"]["value"] == 0.0
    assert set(out["accuracy_by_group"]) == {"cardiology", "oncology"}
    # Calibration: the two scored single-answer items only.
    assert out["ece"]["n"] == 2
    assert out["brier"]["n"] == 2


def _medhalt(**columns: Any) -> dict[str, Any]:
    n = len(columns["tests"])
    defaults: dict[str, Any] = {
        "abstain_letters": [[] for _ in range(n)],
        "generations": [""] * n,
        "answer_texts": [""] * n,
        "contexts": [""] * n,
    }
    return compute_metric("medhalt", **{**defaults, **columns}, **BOOT)


def test_medhalt_score_divides_by_n_and_counts_unparseable_as_wrong() -> None:
    out = _medhalt(
        tests=["fct"] * 4,
        predictions=["A", "B", "C", ""],
        references=[["A"], ["B"], ["A"], ["D"]],
    )
    # 2 right, 1 wrong, 1 unparseable: (2 - 0.25 * 2) / 4 = 0.375. Med-HALT's code would give
    # (2 - 0.25) / 100 = 0.0175, and dropping the unparseable one (2 - 0.25) / 3 = 0.583.
    assert out["fct"]["score"]["value"] == pytest.approx(0.375)
    assert out["fct"]["accuracy"]["value"] == pytest.approx(0.5)
    assert out["fct"]["n"] == 4
    assert out["fct"]["n_unparseable"] == 1
    assert out["nota"]["n"] == 0 and out["nota"]["score"]["value"] is None


def test_medhalt_score_with_n_not_100_is_not_divided_by_100() -> None:
    out = _medhalt(tests=["nota"] * 10, predictions=["A"] * 10, references=[["A"]] * 10)
    assert out["nota"]["score"]["value"] == pytest.approx(1.0)


def test_medhalt_fake_questions_are_right_only_when_the_model_abstains() -> None:
    out = _medhalt(
        tests=["fake"] * 5,
        predictions=["C", "A", "", "", ""],
        references=[["C"]] * 5,
        abstain_letters=[["C"]] * 5,
        generations=["", "", "I don\u2019t know what this means.", "The answer is B", ""],
    )
    # Right: abstain option C; the curly-apostrophe refusal. Wrong: A, a plain answer, silence.
    assert out["fake"]["accuracy"]["value"] == pytest.approx(2 / 5)
    assert out["fake"]["score"]["value"] == pytest.approx((2 - 0.25 * 3) / 5)
    assert out["fake"]["abstention_rate"]["value"] == pytest.approx(2 / 5)


def test_medhalt_nota_gold_is_not_an_abstention_but_i_do_not_know_is() -> None:
    out = _medhalt(
        tests=["nota", "nota"],
        predictions=["D", "E"],
        references=[["D"], ["D"]],
        abstain_letters=[["E"], ["E"]],  # D is the gold "None of the above", E "I do not know".
    )
    assert out["nota"]["accuracy"]["value"] == pytest.approx(0.5)
    assert out["nota"]["abstention_rate"]["value"] == pytest.approx(0.5)


def test_medhalt_refusal_words_in_an_answered_fct_item_are_not_an_abstention() -> None:
    out = _medhalt(
        tests=["fct", "fct"],
        predictions=["A", ""],
        references=[["A"], ["A"]],
        generations=["A. The proposal is irrelevant here.", "I do not know."],
    )
    assert out["fct"]["abstention_rate"]["value"] == pytest.approx(0.5)
    assert out["fct"]["accuracy"]["value"] == pytest.approx(0.5)


def test_medhalt_grounding_by_content_word_coverage() -> None:
    context = "Start metformin 500 mg twice daily with meals."
    out = _medhalt(
        tests=["fct"] * 4,
        predictions=["A", "B", "C", "D"],
        references=[["A"]] * 4,
        answer_texts=["Metformin twice daily", "Insulin glargine at night", "Yes", "of the"],
        contexts=[context, context, "", context],
        grounding_threshold=0.5,
    )
    grounding = out["grounding"]
    # "metformin twice daily": 3/3 covered; "insulin glargine night": 0/3; "of the" has no
    # content words (not assessable); the third item has no context.
    assert grounding["grounded_answer_rate"]["value"] == pytest.approx(0.5)
    assert grounding["grounded_answer_rate"]["n"] == 2
    assert grounding["n_not_assessable"] == 1


def test_multilingual_module_rejects_an_item_twice_in_one_language() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        compute_metric(
            "multilingual",
            ids=["q1", "q1"],
            languages=["en", "en"],
            predictions=["A", "A"],
            references=[["A"], ["A"]],
            **BOOT,
        )


def test_two_unparseable_answers_are_neither_consistent_nor_unflipped() -> None:
    multilingual = compute_metric(
        "multilingual",
        ids=["q1", "q1", "q2", "q2"],
        languages=["en", "fr", "en", "fr"],
        predictions=["", "", "B", "B"],
        references=[["A"]] * 4,
        **BOOT,
    )
    assert multilingual["consistency"]["value"] == pytest.approx(0.5)
    bias = compute_metric(
        "counterfactual_bias",
        vignette_ids=["v1", "v1"],
        attributes=["base", "sex"],
        values=["base", "male"],
        variants=["base", "demographic"],
        predictions=["", ""],
        references=[["A"], ["A"]],
        **BOOT,
    )
    assert bias["attributes"]["sex"]["flip_rate"]["value"] == 1.0
