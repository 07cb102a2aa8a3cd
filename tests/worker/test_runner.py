"""The runner: prepare every check, score each distinct item once, compute, record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from worker.engine.loading import LoadedModel
from worker.engine.runner import UnknownCheckError, evaluate
from worker.engine.types import CheckResult, Item, ItemScore, MetricValue, Verdict


class AccuracyCheck:
    """A minimal check: accuracy over the items whose task it keeps."""

    def __init__(self, name: str, tasks: tuple[str, ...], mode: str) -> None:
        self.name, self.tasks, self._mode = name, tasks, mode
        self.seen: list[tuple[list[Item], list[ItemScore], int]] = []

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]:
        return [item for item in items if item.task in self.tasks]

    def mode(self, config: dict[str, Any]) -> str:
        return str(config.get(self.name, {}).get("mode", self._mode))

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult:
        self.seen.append((items, scores, seed))
        value = sum(s.correct for s in scores) / len(scores)
        verdict = Verdict("accuracy", ">=", 0.0, value, "pass", "at least 0")
        return CheckResult(
            self.name, [MetricValue("accuracy", value, n=len(scores))], [verdict], "pass"
        )


def test_runner_scores_shared_items_once_and_calls_every_check(
    tiny: LoadedModel, items: list[Item]
) -> None:
    registry = {
        "all": AccuracyCheck("all", ("mcq", "fct"), "continuation"),
        "mcq": AccuracyCheck("mcq", ("mcq",), "continuation"),
        "letters": AccuracyCheck("letters", ("mcq",), "letter"),
    }
    calls: list[tuple[int, int]] = []
    result = evaluate(
        tiny,
        items,
        ["all", "mcq", "letters"],
        {"letters": {"n": 1}},
        lambda done, total: calls.append((done, total)),
        seed=5,
        registry=registry,
    )
    n_mcq = sum(item.task == "mcq" for item in items)
    scoring = result["manifest"]["scoring"]
    assert scoring["items_requested"] == len(items) + 2 * n_mcq
    assert scoring["items_scored"] == len(items) + n_mcq
    assert calls[-1] == (len(items) + n_mcq, len(items) + n_mcq)
    assert [c["check"] for c in result["checks"]] == ["all", "mcq", "letters"]
    assert result["manifest"]["seed"] == 5

    all_items, all_scores, seed = registry["all"].seen[0]
    assert seed == 5 and [s.item_id for s in all_scores] == [i.id for i in all_items]
    by_id = {s.item_id: s for s in all_scores}
    for score in registry["mcq"].seen[0][1]:
        assert score == by_id[score.item_id]
    assert all(s.mode == "letter" for s in registry["letters"].seen[0][1])

    records = result["items"]
    assert len(records) == scoring["items_requested"]
    first = records[0]
    assert first["check"] == "all" and first["item_id"] == items[0].id
    assert first["options"][0]["continuation"].startswith(" ")
    assert "logprob_per_token" in first["options"][0]
    json.dumps(result)


def test_generation_checks_store_text_and_parse_a_letter(
    tiny: LoadedModel, items: list[Item]
) -> None:
    check = AccuracyCheck("gen", ("mcq",), "generation")
    result = evaluate(
        tiny, items[:4], ["gen"], {"gen": {"max_new_tokens": 4}}, registry={"gen": check}
    )
    scores = check.seen[0][1]
    assert scores and all(s.mode == "generation" and s.generated for s in scores)
    assert all(
        s.chosen is None or s.chosen in item.options
        for s, item in zip(scores, check.seen[0][0], strict=True)
    )
    assert all(s.context.startswith("<|user|>") for s in scores)
    assert result["items"][0]["generated"] == scores[0].generated


def test_unknown_check_is_refused_before_scoring(tiny: LoadedModel, items: list[Item]) -> None:
    with pytest.raises(UnknownCheckError, match="nope"):
        evaluate(tiny, items, ["nope"], {}, registry={})


def test_items_and_records_round_trip_through_json(tiny: LoadedModel) -> None:
    """A sharded run stores items and records as JSON and rebuilds them elsewhere."""
    from worker.engine.runner import item_record, score_from_record, score_units, unit_key
    from worker.engine.scoring import Scorer
    from worker.engine.types import BiasInfo

    item = Item(
        id="v1-sex-female",
        question="A 56-year-old woman has chest pain. Which drug first?",
        options={"A": "Aspirin", "B": "Insulin"},
        gold=("A",),
        task="vignette",
        context=("Chest pain guidance.",),
        bias=BiasInfo(vignette_id="v1", attribute="sex", value="female", variant="demographic"),
    )
    key = unit_key(item, "continuation", {}, "bias")
    [score] = score_units(Scorer(tiny, seed=0), {key: item}).values()

    rebuilt_item = Item.from_dict(json.loads(json.dumps(item.to_dict())))
    record = json.loads(json.dumps(item_record("bias", item, score)))

    assert rebuilt_item == item
    assert score_from_record(record) == score
    assert unit_key(rebuilt_item, "continuation", {}, "bias") == key
