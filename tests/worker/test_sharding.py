"""One evaluation path: the CLI's runner and a sharded run (plan, score shards apart, store
as JSON, compute from the stored records) give the same results, item for item."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from worker.engine import sharding
from worker.engine.checks import CHECKS, metric_direction
from worker.engine.loading import LoadedModel
from worker.engine.readers import read_items
from worker.engine.runner import evaluate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "evaluation"
CONFIG: dict[str, Any] = {"n_resamples": 50, "seed": 3}


def _items() -> dict[str, list[Any]]:
    knowledge = read_items(FIXTURES / "knowledge.jsonl")[:10]
    multilingual = [i for i in read_items(FIXTURES / "multilingual.jsonl") if i.id == "kn-001"]
    # The multilingual check reads only parallel items (parallel_id); knowledge reads both.
    return {"knowledge": knowledge + multilingual, "multilingual": multilingual}


def test_a_sharded_run_and_the_runner_give_the_same_results(tiny: LoadedModel) -> None:
    checks = ["knowledge", "multilingual"]
    by_check = _items()
    # Batch size 1 on both sides: padding in a batch may move a log-probability's last bits.
    direct = evaluate(tiny, by_check, checks, CONFIG, seed=3, batch_size=1)

    units, rows_per_check = sharding.plan_units(
        checks=checks, config=CONFIG, items_by_check=by_check
    )
    # Shared items are scored once: kn-001 in English serves both checks.
    assert len(units) < sum(rows_per_check.values())
    stored: list[dict[str, Any]] = []
    shards = sharding.split(units, 4)
    random.Random(0).shuffle(shards)  # shards finish in any order, on any worker
    for shard in shards:
        records, counters = sharding.score_shard(
            tiny, json.loads(json.dumps(shard)), seed=3, batch_size=1
        )
        assert counters["units"] == len(shard)
        stored.extend(json.loads(json.dumps(sharding.json_safe(records))))
    rows = sharding.rows_by_check(checks, units, stored, rows_per_check)
    results = sharding.compute_checks(checks=checks, config=CONFIG, seed=3, rows=rows)

    assert [sharding.json_safe(r.to_dict()) for r in results] == sharding.json_safe(
        direct["checks"]
    )
    stored_rows = [record for name in checks for _, record in rows[name]]
    assert [{k: v for k, v in r.items() if k != "position"} for r in stored_rows] == direct["items"]


def test_a_missing_record_is_an_error_not_a_silent_gap(tiny: LoadedModel) -> None:
    by_check = _items()
    units, rows = sharding.plan_units(checks=["knowledge"], config=CONFIG, items_by_check=by_check)
    records, _ = sharding.score_shard(tiny, units, seed=3)
    with pytest.raises(ValueError, match="no stored result for knowledge item"):
        sharding.rows_by_check(["knowledge"], units, records[1:], rows)


def test_an_unknown_mode_is_refused_when_planning() -> None:
    with pytest.raises(sharding.PlanError, match="check knowledge: unknown mode 'essay'"):
        sharding.plan_units(
            checks=["knowledge"],
            config={"knowledge": {"mode": "essay"}},
            items_by_check=_items(),
        )


def test_every_judged_metric_declares_which_way_is_better() -> None:
    for name, check in CHECKS.items():
        metrics: tuple[str, ...] = getattr(check, "metric_names")  # noqa: B009 (not in Check)
        for metric in metrics:
            # A p-value, an abstention rate and the options-alone accuracy have no better side.
            undirected = metric.endswith(("_p_value", "_abstention_rate", "prior_accuracy"))
            direction = metric_direction(name, metric)
            assert direction in ((None,) if undirected else (1, -1)), (name, metric)
    assert metric_direction("knowledge", "ece") == -1
    assert metric_direction("multilingual", "worst_language_ratio") == 1
    assert metric_direction("nope", "accuracy") is None
