"""Run a list of checks over items with one model: prepare, score once, compute, record.

Every check receives the whole suite configuration and reads a parameter from
`config[check][key]`, else `config[key]`, else its default (see `checks.base.param`). The
runner reads its scoring options the same way: `length_normalized` (continuation mode:
choose by per-token score), and for generation `max_new_tokens` (64), `do_sample` (false)
and `temperature` (1.0).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.engine import sharding
from worker.engine.loading import LoadedModel, ModelSpec, load_model
from worker.engine.manifest import RunClock, build_manifest
from worker.engine.scoring import BatchSize, ProgressFn, Scorer
from worker.engine.types import Item

if TYPE_CHECKING:
    from worker.engine.checks.base import Check

# Kept importable from here: the CLI, tests and older callers use these names.
item_record = sharding.item_record
score_from_record = sharding.score_from_record
score_units = sharding.score_units
unit_key = sharding.unit_key


class UnknownCheckError(ValueError):
    """A requested check name is not in the registry."""


def _registry() -> Mapping[str, Check]:
    from worker.engine.checks import CHECKS

    return CHECKS


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

    The same three steps as a sharded run on the platform (worker.engine.sharding): plan the
    work units, score them, compute every check from the records, here in one process.
    `items` is one list every check reads, or {check: its items} so that each dataset goes
    only to the checks it is meant for.
    """
    clock = RunClock()
    registry = _registry() if registry is None else registry
    _require_known(checks, registry)
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    scorer = Scorer(loaded, batch_size=batch_size, seed=seed)
    # The run's seed reaches everything random a check prepares (FCT proposals), as on the
    # platform (sharding.engine_config).
    seeded = {**config, "seed": seed}
    units, rows_per_check = sharding.plan_units(
        checks=checks,
        config=seeded,
        items_by_check={
            name: items.get(name, ()) if isinstance(items, Mapping) else items for name in checks
        },
        registry=registry,
    )
    warm = _ChecksImport()
    records = sharding.score_planned(scorer, units, warm.after_first_batch(progress))
    warm.join()
    rows = sharding.rows_by_check(checks, units, records, rows_per_check)
    results = sharding.compute_checks(
        checks=checks, config=seeded, seed=seed, rows=rows, registry=registry
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
    manifest["scoring"] = _scoring(scorer, requested=sum(rows_per_check.values()), units=units)
    return {
        "manifest": manifest,
        "checks": [result.to_dict() for result in results],
        "items": _item_records(checks, rows),
    }


def _scoring(scorer: Scorer, *, requested: int, units: Sequence[Any]) -> dict[str, Any]:
    """What the manifest records of the scoring: items asked for and scored, OOM back-offs."""
    return {
        "items_requested": requested,
        "items_scored": len(units),
        "oom_backoffs": scorer.oom_backoffs,
        **scorer.counters,
    }


def _require_known(checks: Sequence[str], registry: Mapping[str, Check]) -> None:
    unknown = [name for name in checks if name not in registry]
    if unknown:
        raise UnknownCheckError(
            f"unknown check(s) {', '.join(unknown)}; known: {', '.join(sorted(registry))}"
        )


def _item_records(checks: Sequence[str], rows: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every scored record, check by check, without its position in the plan."""
    return [
        {key: value for key, value in record.items() if key != "position"}
        for name in checks
        for _, record in rows[name]
    ]


class _ChecksImport:
    """Imports what computing the checks needs while the items are scored, not after.

    `evaluate` (with datasets, pandas, scipy.stats and transformers' pipelines: over a second
    of CPU) is loaded by the metric modules once scoring is over. Started in a thread after
    the first batch, it runs on a free core while the model computes (torch releases the
    GIL), and the first forward pass has already done transformers' own lazy imports. The
    run's results do not change: the same modules are loaded, only earlier.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    def after_first_batch(self, progress: ProgressFn | None) -> ProgressFn:
        def wrapped(done: int, total: int) -> None:
            if self._thread is None and done < total:
                self._thread = threading.Thread(target=_import_for_checks, daemon=True)
                self._thread.start()
            if progress is not None:
                progress(done, total)

        return wrapped

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()


def _import_for_checks() -> None:
    try:
        import evaluate  # type: ignore[import-untyped, unused-ignore]  # noqa: F401

        from worker.engine.stats import scipy_stats

        scipy_stats()
    except Exception:  # noqa: BLE001, S110 (the checks import them again and report errors)
        pass


def _expanded(checks: Sequence[str], config: Mapping[str, Any]) -> dict[str, Any]:
    from worker.engine.checks.base import effective_parameters

    return {name: effective_parameters(name, dict(config)) for name in checks}
