"""The evaluation checks, by name.

The runner calls `prepare(items, config)`, scores the prepared items in `mode(config)`, then
`compute(items, scores, config, seed=...)` with the prepared items and their scores.
"""

from __future__ import annotations

from worker.engine.checks.base import Check
from worker.engine.checks.bias import BiasCheck
from worker.engine.checks.hallucination import HallucinationCheck
from worker.engine.checks.knowledge import KnowledgeCheck
from worker.engine.checks.multilingual import MultilingualCheck

CHECKS: dict[str, Check] = {
    check.name: check
    for check in (KnowledgeCheck(), HallucinationCheck(), BiasCheck(), MultilingualCheck())
}


def metric_direction(check: str, metric: str) -> int | None:
    """+1 if a higher value of the check's metric is better, -1 if lower, None if neither."""
    found = CHECKS.get(check)
    directions: dict[str, int] = getattr(found, "directions", {})
    return directions.get(metric)


__all__ = ["CHECKS", "Check", "metric_direction"]
