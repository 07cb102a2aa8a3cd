"""The project's `evaluate` metric modules, loaded from their folders in this package.

Each metric lives in `<name>/<name>.py` as an `evaluate.Metric` subclass, so it can also be
used on its own: `evaluate.load("/abs/path/worker/engine/metrics/medhalt")`. The modules
import `worker.engine`, so the repository root (or the installed project) must be importable.
`evaluate.load` of a folder copies the script into `$HF_HOME/modules` and never contacts the
hub, so this works with HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

METRICS_DIR = Path(__file__).resolve().parent
METRIC_NAMES = ("medqa_accuracy", "medhalt", "counterfactual_bias", "multilingual")

# A loaded module keeps its inputs between add_batch and compute: one caller at a time.
_COMPUTE_LOCK = threading.Lock()


def metric_path(name: str) -> Path:
    """Absolute path of a metric module's folder (what `evaluate.load` takes)."""
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric module {name!r}; valid: {', '.join(METRIC_NAMES)}")
    return METRICS_DIR / name


@functools.cache
def load_metric(name: str) -> Any:
    """Load a metric module by its folder path, once per process."""
    path = metric_path(name)
    # Imported here: evaluate pulls in datasets and pyarrow, which the checks need only now.
    import evaluate  # type: ignore[import-untyped, unused-ignore]

    return evaluate.load(str(path), keep_in_memory=True)


def compute_metric(name: str, **inputs: Any) -> dict[str, Any]:
    """Run a metric module's compute on the given columns and keyword arguments."""
    module = load_metric(name)
    with _COMPUTE_LOCK:
        result: dict[str, Any] = module.compute(**inputs)
    return result
