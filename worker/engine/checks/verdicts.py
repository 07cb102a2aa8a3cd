"""Thresholds from the suite configuration, and the decisions their intervals give.

`config["thresholds"][check]` maps a metric key to `{op: threshold}`, op ">=" or "<=", e.g.
`{"accuracy": {">=": 0.6}, "ece": {"<=": 0.2}, "accuracy[cardiology]": {">=": 0.5}}`.
A key is a metric name, or `name[group]` for one group of a grouped metric.

The decision rule, per threshold (for ">="; "<=" is the mirror image):
- insufficient_data: the metric's n is below its minimum (`min_n`, 30 unless configured);
- pass: the whole interval is on the passing side (lower bound >= threshold);
- fail: the whole interval is on the failing side (upper bound < threshold);
- inconclusive: the interval straddles the threshold;
- not_evaluated: the metric could not be computed (with the reason).
A metric without an interval (a p-value) is judged by its value. A check passes only when
every threshold passes; see `overall` for the order of the other outcomes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker.engine.types import CheckVerdict, MetricValue, Verdict, VerdictValue

OPS = (">=", "<=")
GATE_OPS = (">", "<")
MIN_N = 30
_KEY = re.compile(r"^(?P<name>[A-Za-z0-9_]+)(?:\[(?P<group>[^\]]+)\])?$")


@dataclass(frozen=True)
class Threshold:
    key: str
    name: str
    group: str | None
    op: str
    value: float
    rule: str = "threshold"  # "threshold" | "required" | "precondition"
    note: str = ""  # what an engine requirement means, for the reason text


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


def min_n_for(config: Mapping[str, Any], check: str, metric: str) -> int:
    """The smallest n a metric is judged on: `min_n` (a number, or {metric: number}), else 30."""
    own = config.get(check)
    raw: Any = None
    if isinstance(own, Mapping) and "min_n" in own:
        raw = own["min_n"]
    elif "min_n" in config:
        raw = config["min_n"]
    if isinstance(raw, Mapping):
        raw = raw.get(metric, raw.get("*", MIN_N))
    if raw is None:
        return MIN_N
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ValueError(f"min_n for {check}.{metric} must be a positive integer, got {raw!r}")
    return raw


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _level_text(metric: MetricValue) -> str:
    level = metric.level if metric.level is not None else 0.95
    return f"{level * 100:g} % CI"


def decide(metric: MetricValue, t: Threshold, min_n: int) -> tuple[VerdictValue, str]:
    """The decision on one defined metric against one threshold, and its rule in words."""
    note = f" ({t.note})" if t.note else ""
    if metric.n < min_n:
        return "insufficient_data", f"insufficient data: n = {metric.n} < {min_n}{note}"
    assert metric.value is not None
    upward = t.op in (">=", ">")
    if metric.ci_low is None and metric.ci_high is None and metric.unit == "p-value":
        if _holds(metric.value, t.op, t.value):
            return "pass", f"pass: p = {_fmt(metric.value)} {t.op} {t.value:g}"
        return "fail", f"fail: p = {_fmt(metric.value)} {_negate(t.op)} {t.value:g}"
    ci = _level_text(metric)
    # A missing limit is unbounded (the upper limit of a ratio whose denominator may be 0).
    low = -math.inf if metric.ci_low is None else metric.ci_low
    high = math.inf if metric.ci_high is None else metric.ci_high
    near, far = (low, high) if upward else (high, low)
    near_name, far_name = ("lower", "upper") if upward else ("upper", "lower")
    if _holds(near, t.op, t.value):
        return "pass", f"pass: {ci} {near_name} bound {_fmt(near)} {t.op} {t.value:g}{note}"
    if _holds(far, _negate(t.op), t.value):
        return "fail", f"fail: {ci} {far_name} bound {_fmt(far)} {_negate(t.op)} {t.value:g}{note}"
    return "inconclusive", (
        f"inconclusive: {ci} [{_fmt(low)}, {_fmt(high)}] contains {t.value:g}{note}"
    )


def _holds(x: float, op: str, bound: float) -> bool:
    return {
        ">=": x >= bound,
        ">": x > bound,
        "<=": x <= bound,
        "<": x < bound,
    }[op]


def _negate(op: str) -> str:
    return {">=": "<", ">": "<=", "<=": ">", "<": ">="}[op]


def judge(
    metrics: Sequence[MetricValue],
    thresholds: Sequence[Threshold],
    unavailable: Mapping[str, str] | None = None,
    min_n: Mapping[str, int] | None = None,
) -> list[Verdict]:
    """One verdict per threshold; `unavailable` gives the reason a metric was not computed."""
    unavailable = unavailable or {}
    min_n = min_n or {}
    found = {(m.name, m.group): m for m in metrics}
    verdicts = []
    for t in thresholds:
        floor = min_n.get(t.name, MIN_N)
        metric = found.get((t.name, t.group))
        if metric is None or metric.value is None:
            if t.name in unavailable:
                reason = unavailable[t.name]
            elif metric is not None:
                reason = f"metric undefined: n = {metric.n}"
            elif t.group is not None:
                reason = f"no group {t.group!r} in the results"
            else:
                reason = "metric not computed"
            verdicts.append(
                Verdict(
                    t.key, t.op, t.value, None, "not_evaluated", f"not evaluated: {reason}",
                    min_n=floor, rule=t.rule,
                )
            )  # fmt: skip
            continue
        verdict, reason = decide(metric, t, floor)
        verdicts.append(
            Verdict(
                t.key,
                t.op,
                t.value,
                metric.value,
                verdict,
                reason,
                low=metric.ci_low,
                high=metric.ci_high,
                n=metric.n,
                min_n=floor,
                level=metric.level,
                method=metric.method,
                rule=t.rule,
            )
        )
    return verdicts


_PRECONDITION_OUTCOME: dict[str, CheckVerdict] = {
    "fail": "inconclusive",
    "inconclusive": "inconclusive",
    "insufficient_data": "insufficient_data",
    "not_evaluated": "incomplete",
}


def overall(verdicts: Sequence[Verdict]) -> tuple[CheckVerdict, str]:
    """The check's decision: pass only when every threshold (and requirement) passes.

    In order: a precondition that does not pass decides (inconclusive, insufficient data or
    incomplete); then any fail -> fail; any threshold not evaluated -> incomplete; any
    insufficient data -> insufficient_data; any inconclusive -> inconclusive; no configured
    threshold -> incomplete; else pass.
    """
    for v in verdicts:
        if v.rule == "precondition" and v.verdict != "pass":
            return _PRECONDITION_OUTCOME[v.verdict], f"{v.metric}: {v.reason}"

    def named(state: str) -> str:
        return "; ".join(f"{v.metric}: {v.reason}" for v in verdicts if v.verdict == state)

    if any(v.verdict == "fail" for v in verdicts):
        return "fail", named("fail")
    if any(v.verdict == "not_evaluated" for v in verdicts):
        return "incomplete", named("not_evaluated")
    if any(v.verdict == "insufficient_data" for v in verdicts):
        return "insufficient_data", named("insufficient_data")
    if any(v.verdict == "inconclusive" for v in verdicts):
        return "inconclusive", named("inconclusive")
    if not any(v.rule == "threshold" for v in verdicts):
        return "incomplete", "no thresholds configured: nothing to pass"
    return "pass", "pass: every threshold and requirement passes"
