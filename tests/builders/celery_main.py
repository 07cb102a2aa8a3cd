"""`celery` for the tests' worker and beat processes (tests/builders/processes.py), with
slowness injected by the tests, not by the product: a process started with
CAREALIGN_TEST_SHARD_DELAY=<seconds> sleeps that long after each scored batch, so a shard is
slow enough to be killed mid-way or to outlive a short visibility timeout. The product reads
no such variable; everything else is the production code path.

    python -m tests.builders.celery_main -A governance worker ...
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

DELAY_VARIABLE = "CAREALIGN_TEST_SHARD_DELAY"


def slowed(score_shard: Callable[..., Any], delay: float) -> Callable[..., Any]:
    """The engine's `score_shard`, sleeping `delay` seconds before each progress report."""

    def score(*args: Any, progress: Callable[[int, int], None] | None = None, **kw: Any) -> Any:
        def report(done: int, total: int) -> None:
            time.sleep(delay)
            if progress is not None:
                progress(done, total)

        return score_shard(*args, progress=report, **kw)

    return score


def slow_down_scoring(delay: float) -> None:
    """Patch the engine in this process (before the worker forks its pool children)."""
    from worker.engine import sharding

    sharding.score_shard = slowed(sharding.score_shard, delay)  # type: ignore[assignment]


def main() -> None:
    delay = float(os.environ.get(DELAY_VARIABLE) or 0)
    if delay:
        slow_down_scoring(delay)
    from celery.__main__ import main as celery_main

    celery_main()


if __name__ == "__main__":
    main()
