"""The bridge to the evaluation engine: plan a run's work units, score a shard, compute checks.

`worker.engine.runner.evaluate()` prepares, scores and computes in one process. A sharded run
needs the three steps apart (plan once, score on many workers, compute once), so this module
calls the runner's own unit key (`unit_key`), scoring (`score_units`) and per-item records
(`item_record`, `score_from_record`).

Everything here is plain data in, plain data out: no Django.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from worker.engine import runner
from worker.engine.checks import CHECKS
from worker.engine.loading import LoadedModel
from worker.engine.scoring import Scorer
from worker.engine.types import CheckResult, Item

UnitKey = tuple[Any, ...]


class PlanError(ValueError):
    """The suite's datasets and checks cannot make a run (a message for the run's error)."""


def engine_config(
    *, parameters: Mapping[str, Any], thresholds: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    """The configuration every check reads: the suite's parameters, thresholds and the seed."""
    return {**parameters, "thresholds": dict(thresholds), "seed": seed}


def plan_units(
    *, checks: Sequence[str], config: dict[str, Any], items_by_check: Mapping[str, list[Item]]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Prepare every check's items and de-duplicate what is scored, as `runner.evaluate` does.

    Returns the work units in a deterministic order and the number of result rows per check.
    A unit is scored once; each of its rows (check, position in that check's prepared list,
    prepared item) becomes one per-item result.
    """
    units: dict[UnitKey, dict[str, Any]] = {}
    rows_per_check: dict[str, int] = {}
    for name in checks:
        check = CHECKS[name]
        try:
            mode = check.mode(dict(config))
            prepared = check.prepare(list(items_by_check.get(name, [])), dict(config))
        except ValueError as exc:
            raise PlanError(f"check {name}: {exc}") from exc
        seen: set[tuple[str, str]] = set()
        for position, item in enumerate(prepared):
            # One result row per (check, id, language); the engine's prepare dedupes the same.
            if (item.id, item.language) in seen:
                raise PlanError(
                    f"check {name}: item {item.id!r} ({item.language}) comes twice from the "
                    "suite's datasets; give each dataset only the checks it is for"
                )
            seen.add((item.id, item.language))
            key = runner.unit_key(item, mode, config, name)
            unit = units.setdefault(key, {"key": _key_json(key), "rows": []})
            unit["rows"].append({"check": name, "position": position, "item": item.to_dict()})
        rows_per_check[name] = len(prepared)
    return list(units.values()), rows_per_check


def split(units: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Consecutive slices of at most `size` units (the last may be shorter)."""
    return [list(units[start : start + size]) for start in range(0, len(units), size)]


def score_units(
    loaded: LoadedModel,
    units: Sequence[dict[str, Any]],
    *,
    seed: int,
    batch_size: int | str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score a shard's units; return one record per row and the scorer's counters."""
    by_key = {_key_tuple(unit["key"]): unit for unit in units}
    items = {key: Item.from_dict(unit["rows"][0]["item"]) for key, unit in by_key.items()}
    scorer = Scorer(loaded, batch_size=batch_size, seed=seed)  # type: ignore[arg-type]
    scores = runner.score_units(scorer, items, progress)
    records = []
    for key, unit in by_key.items():
        for row in unit["rows"]:
            record = runner.item_record(row["check"], Item.from_dict(row["item"]), scores[key])
            records.append({**record, "position": row["position"]})
    return records, {"units": len(items), "oom_backoffs": scorer.oom_backoffs}


def compute_checks(
    *,
    checks: Sequence[str],
    config: dict[str, Any],
    seed: int,
    rows: Mapping[str, Sequence[tuple[dict[str, Any], dict[str, Any]]]],
) -> list[CheckResult]:
    """Each check's metrics and verdicts from its (prepared item, stored record) rows, in order."""
    results = []
    for name in checks:
        pairs = rows.get(name, ())
        items = [Item.from_dict(item) for item, _ in pairs]
        scores = [runner.score_from_record(record) for _, record in pairs]
        results.append(CHECKS[name].compute(items, scores, dict(config), seed=seed))
    return results


def record_group(record: Mapping[str, Any]) -> str:
    """The group an item belongs to for drill-down: the bias variant's value, else specialty."""
    bias = record.get("bias")
    if bias:
        return f"{bias['attribute']}={bias['value']}"
    return str(record.get("specialty") or "")


def json_safe(value: Any) -> Any:
    """Plain JSON for a jsonb column: NaN and infinities (which jsonb refuses) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def check_names() -> list[str]:
    return sorted(CHECKS)


def validate_check_config(checks: Iterable[str], config: dict[str, Any]) -> dict[str, str]:
    """Ask each check to read its parameters and thresholds; return {check: error}."""
    errors: dict[str, str] = {}
    for name in checks:
        check = CHECKS.get(name)
        if check is None:
            errors[name] = f"unknown check; known: {', '.join(check_names())}"
            continue
        try:
            check.mode(dict(config))
            check.prepare([], dict(config))  # parses the thresholds, refuses unknown metrics
        except ValueError as exc:
            errors[name] = str(exc)
    return errors


def _key_json(key: UnitKey) -> list[Any]:
    return [key[0], key[1], key[2], list(key[3]), key[4]]


def _key_tuple(key: Sequence[Any]) -> UnitKey:
    return (key[0], key[1], key[2], tuple(key[3]), key[4])


def units_digest(units: Sequence[dict[str, Any]]) -> str:
    """A short digest of the planned work, recorded in the manifest."""
    data = json.dumps([unit["key"] for unit in units], ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()
