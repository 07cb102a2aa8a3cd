"""Chain-of-thought answer extraction and the per-mode cost table."""

from __future__ import annotations

import pytest

from worker.engine.reasoning import cost_table, extract_final_answer

LETTERS = ["A", "B", "C", "D"]

PHRASINGS = [
    ("Option A is tempting, but C fits better.\nAnswer: C", "C"),
    ("A and B are wrong. The answer is (D).", "D"),
    ("Considering the ECG... Final answer: **B**", "B"),
    ("Let's think. A? No. So the correct answer is B.", "B"),
    ("The answer is A... wait, re-reading the vitals, the answer is C.", "C"),
    ("Reasoning about renal function.\n\nB", "B"),
    ("Razonemos paso a paso. La respuesta correcta es B.", "B"),
    ("Respuesta: (C)", "C"),
    ("Analysons le cas. La bonne réponse est D.", "D"),
    ("Réponse : A", "A"),
    ("Рассмотрим варианты. Ответ: C", "C"),
    ("Правильный ответ — B", "B"),
    ("我们逐步分析。答案是B。", "B"),
    ("最终答案：（D）", "D"),
    ("段階的に考えます。正解はA。", "A"),
    ("答え：C", "C"),
]


@pytest.mark.parametrize(("text", "expected"), PHRASINGS)
def test_extracts_the_final_answer_in_every_fixture_language(text, expected):
    assert extract_final_answer(text, LETTERS) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I am not sure which option applies here.",
        "A patient with chest pain should be assessed urgently.",
        "Answer: E",  # not an offered letter
        "The answer depends on the local formulary.",
    ],
)
def test_unclear_answers_are_none(text):
    assert extract_final_answer(text, LETTERS) is None


def test_cost_table_adds_up():
    rows = cost_table(
        {"direct": (200, 400, 50.0), "cot": (200, 36_000, 900.0)},
        device="gpu",
        prices={"gpu": 2.5, "cpu": 0.1},
        currency="USD",
    )
    direct, cot = (row.as_dict() for row in rows)
    assert direct["tokens_per_item"] == 2.0 and cot["tokens_per_item"] == 180.0
    # 0.25 s per item -> 250 s per 1,000 items -> 250/3600 h x 2.5 USD.
    assert direct["cost_per_1000_items"] == pytest.approx(250 / 3600 * 2.5)
    assert cot["cost_per_1000_items"] == pytest.approx(4500 / 3600 * 2.5)
    assert cot["cost_per_1000_items"] / direct["cost_per_1000_items"] == pytest.approx(18)
    assert "2.5 USD per GPU-hour" in cot["assumption"]


def test_cost_table_refuses_an_unpriced_device():
    with pytest.raises(ValueError, match="no hourly price for device 'tpu'"):
        cost_table({"direct": (1, 1, 1.0)}, device="tpu", prices={"gpu": 1.0}, currency="USD")


def test_reasoning_study_runs_both_modes_on_the_tiny_model(tiny):
    from tests.builders.items import make_items
    from worker.engine.reasoning import StudyConfig, reasoning_study
    from worker.engine.scoring import Scorer
    from worker.engine.stats import wilson_interval

    items = [i for i in make_items(12, seed=3) if i.task == "mcq"]
    config = StudyConfig(direct_max_new_tokens=4, reasoning_max_new_tokens=12, min_n=5)
    report = reasoning_study(Scorer(tiny, batch_size=4), items, config=config)
    direct, reasoning = report["modes"]["direct"], report["modes"]["reasoning"]
    assert direct["n"] == reasoning["n"] == len(items)
    # Accuracy intervals are Wilson intervals of the counted outcomes.
    for mode in (direct, reasoning):
        expected = wilson_interval(mode["correct"], mode["n"])
        assert (mode["low"], mode["high"]) == (expected.low, expected.high)
    # Every item keeps both texts for clinicians, and what the parsers made of them.
    assert len(report["items"]) == len(items)
    first = report["items"][0]
    assert first["reasoning"]["prompt"].endswith("single best option.")
    assert isinstance(first["reasoning"]["text"], str)
    unparsed = sum(r["reasoning"]["chosen"] is None for r in report["items"])
    assert reasoning["unparseable"] == unparsed
    # The random tiny model answers noise, and the report says so instead of a finding.
    assert reasoning["noise"] and "noise" in reasoning["noise"]
    # The paired comparison covers exactly the items, and the cost table adds up.
    overall = next(r for r in report["comparison"]["rows"] if r["dimension"] == "overall")
    assert overall["n"] == len(items)
    costs = {c["mode"]: c for c in report["costs"]}
    assert costs["reasoning"]["items"] == len(items)
    assert costs["reasoning"]["cost_per_1000_items"] == pytest.approx(
        costs["reasoning"]["wall_seconds"] / len(items) * 1000 / 3600 * 0.05
    )
    assert costs["reasoning"]["tokens_per_item"] == costs["reasoning"]["generated_tokens"] / len(
        items
    )
