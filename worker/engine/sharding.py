"""The one evaluation path: plan work units, score them, compute checks from stored records.

A run is three steps that may happen in different processes: plan once (prepare every
check's items, de-duplicate what is scored into work units), score units anywhere (one
record per row: what an auditor needs to re-check it), compute each check from the records.
The command line's `runner.evaluate` does the three in one process; the platform plans in
its start task, scores shards on GPU workers and computes in its finalisation task. Both
call the functions below, so a run gives the same results either way.

Everything here is plain data in, plain data out: no Django.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from worker.engine.choice import choose, normalization
from worker.engine.loading import LoadedModel
from worker.engine.prompts import MODES, format_prompt, parse_choice
from worker.engine.scoring import BatchSize, ProgressFn, Scorer
from worker.engine.types import CheckResult, Item, ItemScore, OptionScore

if TYPE_CHECKING:
    from worker.engine.checks.base import Check

UnitKey = tuple[Any, ...]


class PlanError(ValueError):
    """The datasets and checks cannot make a run (a message for the run's error)."""


def _registry(registry: Mapping[str, Check] | None) -> Mapping[str, Check]:
    if registry is not None:
        return registry
    from worker.engine.checks import CHECKS

    return CHECKS


def _param(config: Mapping[str, Any], check: str, key: str, default: Any) -> Any:
    from worker.engine.checks.base import param

    return param(dict(config), check, key, default)


def engine_config(
    *, parameters: Mapping[str, Any], thresholds: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    """The configuration every check reads: the suite's parameters, thresholds and the seed."""
    return {**parameters, "thresholds": dict(thresholds), "seed": seed}


def _params(mode: str, config: Mapping[str, Any], check: str) -> tuple[Any, ...]:
    """The scoring options that change a score; part of the de-duplication key."""
    if mode == "generation":
        return (
            int(_param(config, check, "max_new_tokens", 64)),
            bool(_param(config, check, "do_sample", False)),
            float(_param(config, check, "temperature", 1.0)),
        )
    if mode == "continuation":
        return (normalization(config, check),)
    return ()


def _fingerprint(item: Item, mode: str) -> str:
    """What is scored: identical fingerprints give identical scores, whichever check asks."""
    scored = [format_prompt(item, mode), sorted(item.options.items()), list(item.gold)]
    return hashlib.sha256(json.dumps(scored, ensure_ascii=False).encode()).hexdigest()


def unit_key(item: Item, mode: str, config: Mapping[str, Any], check: str) -> UnitKey:
    """The de-duplication key of one scored unit: equal keys give equal scores."""
    return (item.id, item.language, mode, _params(mode, config, check), _fingerprint(item, mode))


def plan_units(
    *,
    checks: Sequence[str],
    config: Mapping[str, Any],
    items_by_check: Mapping[str, Sequence[Item]],
    registry: Mapping[str, Check] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Prepare every check's items and de-duplicate what is scored.

    Returns the work units in a deterministic order and the number of result rows per check.
    A unit is scored once; each of its rows (check, position in that check's prepared list,
    prepared item) becomes one per-item result.
    """
    checks_by_name = _registry(registry)
    units: dict[UnitKey, dict[str, Any]] = {}
    rows_per_check: dict[str, int] = {}
    for name in checks:
        check = checks_by_name[name]
        try:
            mode = check.mode(dict(config))
            if mode not in MODES:
                raise ValueError(f"asked for unknown mode {mode!r}; valid: {', '.join(MODES)}")
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
            key = unit_key(item, mode, config, name)
            unit = units.setdefault(key, {"key": _key_json(key), "rows": []})
            unit["rows"].append({"check": name, "position": position, "item": item.to_dict()})
        rows_per_check[name] = len(prepared)
    return list(units.values()), rows_per_check


def split(units: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Consecutive slices of at most `size` units (the last may be shorter)."""
    return [list(units[start : start + size]) for start in range(0, len(units), size)]


def score_shard(
    loaded: LoadedModel,
    units: Sequence[dict[str, Any]],
    *,
    seed: int,
    batch_size: BatchSize = "auto",
    progress: ProgressFn | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score planned units; return one record per row (with its position) and counters."""
    scorer = Scorer(loaded, batch_size=batch_size, seed=seed)
    records = score_planned(scorer, units, progress)
    return records, {"units": len(units), "oom_backoffs": scorer.oom_backoffs}


def score_planned(
    scorer: Scorer, units: Sequence[dict[str, Any]], progress: ProgressFn | None = None
) -> list[dict[str, Any]]:
    """Score planned units with a scorer; one record per row, with the row's position."""
    by_key = {_key_tuple(unit["key"]): unit for unit in units}
    items = {key: Item.from_dict(unit["rows"][0]["item"]) for key, unit in by_key.items()}
    scores = score_units(scorer, items, progress)
    records = []
    for key, unit in by_key.items():
        for row in unit["rows"]:
            record = item_record(row["check"], Item.from_dict(row["item"]), scores[key])
            records.append({**record, "position": row["position"]})
    return records


def rows_by_check(
    checks: Sequence[str],
    units: Iterable[Mapping[str, Any]],
    records: Iterable[Mapping[str, Any]],
    rows_per_check: Mapping[str, int],
) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Each check's (planned item, record) pairs in plan order, from records stored anywhere.

    Raises ValueError when a planned row has no record or the rows do not match the plan.
    """
    stored = {(record["check"], record["position"]): record for record in records}
    found: dict[str, list[tuple[int, dict[str, Any], dict[str, Any]]]] = {c: [] for c in checks}
    for unit in units:
        for row in unit["rows"]:
            if row["check"] not in found:
                continue
            record = stored.get((row["check"], row["position"]))
            if record is None:
                item = row["item"]
                raise ValueError(
                    f"no stored result for {row['check']} item {item['id']} ({item['language']})"
                )
            found[row["check"]].append((row["position"], row["item"], dict(record)))
    ordered = {}
    for name in checks:
        rows = sorted(found[name], key=lambda row: row[0])
        if [row[0] for row in rows] != list(range(int(rows_per_check.get(name, len(rows))))):
            raise ValueError(f"check {name}: stored results do not match the plan")
        ordered[name] = [(item, record) for _, item, record in rows]
    return ordered


def compute_checks(
    *,
    checks: Sequence[str],
    config: Mapping[str, Any],
    seed: int,
    rows: Mapping[str, Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]],
    registry: Mapping[str, Check] | None = None,
) -> list[CheckResult]:
    """Each check's metrics and verdicts from its (planned item, record) rows, in plan order."""
    checks_by_name = _registry(registry)
    results = []
    for name in checks:
        pairs = rows.get(name, ())
        items = [Item.from_dict(item) for item, _ in pairs]
        scores = [score_from_record(record) for _, record in pairs]
        results.append(checks_by_name[name].compute(items, scores, dict(config), seed=seed))
    return results


class _Progress:
    """Turns per-call progress into one count over every unit the run scores."""

    def __init__(self, total: int, callback: ProgressFn | None) -> None:
        self.total, self.base, self.callback = total, 0, callback

    def part(self) -> Callable[[int, int], None]:
        base = self.base

        def report(done: int, _total: int) -> None:
            if self.callback is not None:
                self.callback(base + done, self.total)

        return report

    def advance(self, n: int) -> None:
        self.base += n


def score_units(
    scorer: Scorer, units: Mapping[UnitKey, Item], callback: ProgressFn | None = None
) -> dict[UnitKey, ItemScore]:
    """Score units keyed by `unit_key`, grouped by mode and options; one progress count."""
    progress = _Progress(len(units), callback)
    groups: dict[tuple[Any, ...], list[UnitKey]] = {}
    for key in units:
        groups.setdefault((key[2], key[3]), []).append(key)
    scores: dict[UnitKey, ItemScore] = {}
    for (mode, params), keys in groups.items():
        batch = [units[key] for key in keys]
        if mode == "generation":
            scored = _generate(scorer, batch, params, progress.part())
        else:
            # The length rule picks the answer after scoring; every score stays in the record.
            rule = str(params[0]) if params else "none"
            scored = [
                choose(score, rule)
                for score in scorer.score_items(
                    batch,
                    mode=mode,
                    length_normalized=rule == "token",
                    progress=progress.part(),
                )
            ]
        scores.update(zip(keys, scored, strict=True))
        progress.advance(len(keys))
    return scores


def _generate(
    scorer: Scorer, items: list[Item], params: tuple[Any, ...], progress: ProgressFn
) -> list[ItemScore]:
    max_new_tokens, do_sample, temperature = params
    prompts = [format_prompt(item, "generation") for item in items]
    texts = scorer.generate(
        prompts,
        max_new_tokens=max_new_tokens,
        do_sample=do_sample,
        temperature=temperature,
        progress=progress,
    )
    scores = []
    for item, prompt, text in zip(items, prompts, texts, strict=True):
        chosen = parse_choice(text, item.options)
        scores.append(
            ItemScore(
                item_id=item.id,
                context=scorer.render_prompt(prompt),
                options=(),
                chosen=chosen,
                gold=item.gold,
                correct=chosen is not None and chosen in item.gold,
                mode="generation",
                generated=text,
            )
        )
    return scores


def score_from_record(record: Mapping[str, Any]) -> ItemScore:
    """The ItemScore a per-item record of `item_record` was written from."""
    return ItemScore(
        item_id=record["item_id"],
        context=record["context"],
        options=tuple(
            OptionScore(
                letter=option["letter"],
                continuation=option["continuation"],
                logprob=option["logprob"],
                n_tokens=option["n_tokens"],
            )
            for option in record["options"]
        ),
        chosen=record["chosen"],
        gold=tuple(record["gold"]),
        correct=record["correct"],
        mode=record["mode"],
        generated=record.get("generated"),
    )


def item_record(check: str, item: Item, score: ItemScore) -> dict[str, Any]:
    """One per-item row for drill-down: the item's facts and exactly what was scored."""
    return {
        "check": check,
        "item_id": item.id,
        "source": item.source,
        "language": item.language,
        "task": item.task,
        "specialty": item.specialty,
        "bias": asdict(item.bias) if item.bias else None,
        "mode": score.mode,
        "context": score.context,
        "options": [
            {
                **asdict(option),
                "logprob_per_token": option.logprob_per_token,
                "n_bytes": option.n_bytes,
                "logprob_per_byte": option.logprob_per_byte,
            }
            for option in score.options
        ],
        "chosen": score.chosen,
        "gold": list(score.gold),
        "correct": score.correct,
        "generated": score.generated,
    }


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
    return sorted(_registry(None))


def validate_check_config(checks: Iterable[str], config: dict[str, Any]) -> dict[str, str]:
    """Ask each check to read its parameters and thresholds; return {check: error}."""
    registry = _registry(None)
    errors: dict[str, str] = {}
    for name in checks:
        check = registry.get(name)
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
