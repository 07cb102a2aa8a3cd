"""Run a list of checks over items with one model: prepare, score once, compute, record.

Every check receives the whole suite configuration and reads a parameter from
`config[check][key]`, else `config[key]`, else its default (see `checks.base.param`). The
runner reads its scoring options the same way: `normalization` (continuation mode: choose
by per-byte, per-token or summed log-likelihood; see `worker.engine.choice`), and for
generation `max_new_tokens` (64), `do_sample` (false) and `temperature` (1.0).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from worker.engine.choice import choose, normalization
from worker.engine.loading import LoadedModel, ModelSpec, load_model
from worker.engine.manifest import RunClock, build_manifest
from worker.engine.prompts import format_prompt, parse_choice
from worker.engine.scoring import BatchSize, ProgressFn, Scorer
from worker.engine.types import CheckResult, Item, ItemScore, OptionScore

_MODES = ("continuation", "letter", "generation")


class Check(Protocol):
    """What `worker.engine.checks.CHECKS` holds for every check name."""

    name: str

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]: ...

    def mode(self, config: dict[str, Any]) -> str: ...

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult: ...


class UnknownCheckError(ValueError):
    """A requested check name is not in the registry."""


@dataclass
class _Plan:
    check: Check
    config: dict[str, Any]
    mode: str
    items: list[Item]
    keys: list[tuple[Any, ...]] = field(default_factory=list)


def _registry() -> Mapping[str, Check]:
    from worker.engine.checks import CHECKS

    return CHECKS


def _param(config: Mapping[str, Any], check: str, key: str, default: Any) -> Any:
    own = config.get(check)
    if isinstance(own, Mapping) and key in own:
        return own[key]
    return config.get(key, default)


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


def unit_key(item: Item, mode: str, config: Mapping[str, Any], check: str) -> tuple[Any, ...]:
    """The de-duplication key of one scored unit: equal keys give equal scores.

    Public because a sharded run plans its units in one process and scores them in others.
    """
    return (item.id, item.language, mode, _params(mode, config, check), _fingerprint(item, mode))


def evaluate(
    model: ModelSpec | LoadedModel,
    items: Sequence[Item] | Mapping[str, Sequence[Item]],
    checks: Sequence[str],
    config: Mapping[str, Any],
    progress: ProgressFn | None = None,
    *,
    seed: int = 0,
    batch_size: BatchSize = "auto",
    dataset_paths: Sequence[str | Path | Mapping[str, Any]] = (),
    registry: Mapping[str, Check] | None = None,
) -> dict[str, Any]:
    """Run `checks` over `items`; return {"manifest", "checks", "items"} as JSON-ready data.

    `items` is one list every check reads, or {check: its items} so that each dataset goes
    only to the checks it is meant for.
    """
    clock = RunClock()
    registry = _registry() if registry is None else registry
    unknown = [name for name in checks if name not in registry]
    if unknown:
        raise UnknownCheckError(
            f"unknown check(s) {', '.join(unknown)}; known: {', '.join(sorted(registry))}"
        )
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    scorer = Scorer(loaded, batch_size=batch_size, seed=seed)

    plans: list[_Plan] = []
    units: dict[tuple[Any, ...], Item] = {}
    for name in checks:
        check = registry[name]
        # The run's seed reaches everything random a check prepares (FCT proposals).
        suite = {**config, "seed": seed}
        mode = check.mode(suite)
        if mode not in _MODES:
            raise ValueError(f"check {name!r} asked for unknown mode {mode!r}")
        given = items.get(name, ()) if isinstance(items, Mapping) else items
        plan = _Plan(check, suite, mode, check.prepare(list(given), suite))
        for item in plan.items:
            key = unit_key(item, mode, suite, name)
            plan.keys.append(key)
            units.setdefault(key, item)
        plans.append(plan)

    scores = score_units(scorer, units, progress)

    results: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for name, plan in zip(checks, plans, strict=True):
        item_scores = [scores[key] for key in plan.keys]
        result = plan.check.compute(plan.items, item_scores, plan.config, seed=seed)
        results.append(result.to_dict())
        records.extend(
            item_record(name, item, score)
            for item, score in zip(plan.items, item_scores, strict=True)
        )
    clock.stop()
    manifest = build_manifest(
        loaded=loaded,
        clock=clock,
        checks=checks,
        check_config=config,
        seed=seed,
        batch_size=batch_size,
        dataset_paths=dataset_paths,
        expanded_config=_expanded(checks, config),
    )
    manifest["scoring"] = {
        "items_requested": sum(len(plan.items) for plan in plans),
        "items_scored": len(units),
        "oom_backoffs": scorer.oom_backoffs,
        **scorer.counters,
    }
    return {"manifest": manifest, "checks": results, "items": records}


def _expanded(checks: Sequence[str], config: Mapping[str, Any]) -> dict[str, Any]:
    from worker.engine.checks.base import effective_parameters

    return {name: effective_parameters(name, dict(config)) for name in checks}


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
    scorer: Scorer, units: Mapping[tuple[Any, ...], Item], callback: ProgressFn | None = None
) -> dict[tuple[Any, ...], ItemScore]:
    """Score units keyed by `unit_key`, grouped by mode and options; one progress count."""
    progress = _Progress(len(units), callback)
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for key in units:
        groups.setdefault((key[2], key[3]), []).append(key)
    scores: dict[tuple[Any, ...], ItemScore] = {}
    for (mode, params), keys in groups.items():
        batch = [units[key] for key in keys]
        if mode == "generation":
            scored = _generate(scorer, batch, params, progress.part())
        else:
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
