"""Rerun an evaluation from its results file alone, and say whether it reproduced.

`python -m worker.engine rerun RESULTS.json --out NEW.json` reads the manifest: the model
(local folder, or hub id at its pinned revision) with its dtype, device and threads; each
dataset at its recorded path with its format, language and checks; the checks, their
configuration and the seed. It refuses when a dataset or the weights no longer match their
recorded SHA-256. The new results are compared with the old: every metric, verdict and
per-item record must be bit-identical (timings and the manifest's clock are not compared).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

MAX_DIFFERENCES = 50


class RerunError(Exception):
    """The results file cannot be rerun as it stands (exit 2)."""


class RerunRefused(Exception):
    """A recorded input changed: the rerun would not test the same evaluation (exit 1)."""


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RerunError(f"cannot read results {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("manifest"), dict):
        raise RerunError(f"{path} holds no manifest: not a results file of `evaluate`")
    return data


def _datasets(manifest: Mapping[str, Any]) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    from worker.engine.manifest import file_digest
    from worker.engine.readers import read_items

    checks = list(manifest.get("checks") or [])
    by_check: dict[str, list[Any]] = {name: [] for name in checks}
    entries = []
    for entry in manifest.get("datasets") or []:
        path = Path(entry["path"])
        if not path.exists():
            raise RerunRefused(f"dataset {path} is gone (recorded sha256 {entry['sha256']})")
        digest = file_digest(path)
        if digest != entry["sha256"]:
            raise RerunRefused(
                f"dataset {path} changed: sha256 recorded {entry['sha256']}, now {digest}"
            )
        items = read_items(path, fmt=entry.get("format"), language=entry.get("language"))
        for name in entry.get("checks") or checks:
            by_check.setdefault(name, []).extend(items)
        entries.append(dict(entry))
    return by_check, entries


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as `path: old != new` lines (NaN equals NaN)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(f"{here}: {'missing' if key not in old else 'present'} in the original")
            else:
                out += differences(old[key], new[key], here)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: {len(old)} entries != {len(new)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new):
        return []
    return [] if old == new and type(old) is type(new) else [f"{path}: {old!r} != {new!r}"]


def rerun(
    results: Path, out: Path, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Rerun `results` from its manifest, write `out`; return the new results and differences."""
    import torch

    from worker.engine.loading import ModelSpec, load_model
    from worker.engine.manifest import file_digest
    from worker.engine.runner import evaluate

    original = _load(results)
    manifest = original["manifest"]
    model, device = manifest.get("model") or {}, manifest.get("device") or {}
    by_check, entries = _datasets(manifest)
    spec = ModelSpec(
        str(model.get("source")),
        revision=model.get("revision"),
        dtype=device.get("dtype"),
        device=device.get("device"),
    )
    loaded = load_model(spec)
    if model.get("weights_digest") and loaded.weights_digest != model["weights_digest"]:
        raise RerunRefused(
            f"model weights changed: sha256 recorded {model['weights_digest']}, "
            f"now {loaded.weights_digest}"
        )
    if device.get("torch_threads"):
        # Float sums depend on how work is split between threads.
        torch.set_num_threads(int(device["torch_threads"]))
    result = evaluate(
        loaded,
        by_check,
        list(manifest.get("checks") or []),
        dict(manifest.get("check_config") or {}),
        progress,
        seed=int(manifest.get("seed", 0)),
        batch_size=manifest.get("batch_size", "auto"),
        dataset_paths=entries,
    )
    found = differences(original.get("checks"), result["checks"], "checks")
    found += differences(original.get("items"), result["items"], "items")
    result["manifest"]["rerun_of"] = {
        "path": str(results.resolve()),
        "sha256": file_digest(results),
        "reproduced": not found,
        "differences": found[:MAX_DIFFERENCES],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result, found
