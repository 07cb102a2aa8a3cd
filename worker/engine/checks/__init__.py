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

__all__ = ["CHECKS", "Check"]
