"""Thresholds from the suite configuration, and the verdicts they give.

`config["thresholds"][check]` maps a metric key to `{op: threshold}`, op ">=" or "<=", e.g.
`{"accuracy": {">=": 0.6}, "ece": {"<=": 0.2}, "accuracy[cardiology]": {">=": 0.5}}`.
A key is a metric name, or `name[group]` for one group of a grouped metric.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker.engine.types import MetricValue, Verdict, VerdictValue

OPS = (">=", "<=")
_KEY = re.compile(r"^(?P<name>[A-Za-z0-9_]+)(?:\[(?P<group>[^\]]+)\])?$")


@dataclass(frozen=True)
class Threshold:
    key: str
    name: str
    group: str | None
    op: str
    value: float


def parse_thresholds(
    config: Mapping[str, Any], check: str, valid_names: Sequence[str]
) -> list[Threshold]:
    """The thresholds configured for a check; unknown metrics or operators raise ValueError."""
    all_thresholds = config.get("thresholds") or {}
    if not isinstance(all_thresholds, Mapping):
        raise ValueError(f"thresholds must be a mapping, got {all_thresholds!r}")
    spec = all_thresholds.get(check) or {}
    if not isinstance(spec, Mapping):
        raise ValueError(f"thresholds[{check!r}] must be a mapping, got {spec!r}")
    parsed: list[Threshold] = []
    for key, ops in spec.items():
        match = _KEY.match(str(key))
        if match is None or match["name"] not in valid_names:
            raise ValueError(
                f"unknown metric {key!r} in thresholds for check {check!r}; "
                f"valid metrics: {', '.join(valid_names)} (or name[group])"
            )
        if not isinstance(ops, Mapping) or not ops:
            raise ValueError(f"threshold for {key!r} must be like {{'>=': 0.6}}, got {ops!r}")
        for op, bound in ops.items():
            if op not in OPS:
                raise ValueError(
                    f"unknown operator {op!r} for {key!r} in check {check!r}; valid: "
                    f"{', '.join(OPS)}"
                )
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                raise ValueError(f"threshold for {key!r} {op} must be a number, got {bound!r}")
            if not math.isfinite(bound):
                raise ValueError(f"threshold for {key!r} {op} must be finite, got {bound!r}")
            parsed.append(Threshold(str(key), match["name"], match["group"], op, float(bound)))
    return parsed


def judge(
    metrics: Sequence[MetricValue],
    thresholds: Sequence[Threshold],
    unavailable: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """One verdict per threshold; `unavailable` gives the reason a metric was not computed."""
    unavailable = unavailable or {}
    found = {(m.name, m.group): m for m in metrics}
    verdicts = []
    for t in thresholds:
        metric = found.get((t.name, t.group))
        if metric is None:
            if t.name in unavailable:
                reason = unavailable[t.name]
            elif t.group is not None:
                reason = f"no group {t.group!r} in the results"
            else:
                reason = "metric not computed"
            verdicts.append(Verdict(t.key, t.op, t.value, None, "not_evaluated", reason))
            continue
        if metric.value is None:
            reason = unavailable.get(t.name, f"metric undefined: n={metric.n}")
            verdicts.append(Verdict(t.key, t.op, t.value, None, "not_evaluated", reason))
            continue
        ok = metric.value >= t.value if t.op == ">=" else metric.value <= t.value
        reason = f"{metric.value:.4g} {t.op} {t.value:g}: " + ("met" if ok else "not met")
        verdicts.append(
            Verdict(t.key, t.op, t.value, metric.value, "pass" if ok else "fail", reason)
        )
    return verdicts


def overall(verdicts: Sequence[Verdict]) -> tuple[VerdictValue, str]:
    """Fail if any threshold fails; not_evaluated if none could be judged; else pass."""
    if any(v.verdict == "fail" for v in verdicts):
        failed = [v.metric for v in verdicts if v.verdict == "fail"]
        return "fail", f"failed: {', '.join(failed)}"
    if not any(v.verdict == "pass" for v in verdicts):
        reason = "no thresholds configured" if not verdicts else "no threshold could be evaluated"
        return "not_evaluated", reason
    skipped = sum(1 for v in verdicts if v.verdict == "not_evaluated")
    suffix = f" ({skipped} not evaluated)" if skipped else ""
    return "pass", f"all evaluated thresholds met{suffix}"
