"""Paired comparison of model versions scored on the same items, and the generalisation map.

Plain Python (no Django). The unit of analysis is one scored item (check, item id, language):
version A and version B answered the *same* item, so their correctness is paired and the
comparison uses paired statistics:

- the difference in accuracy (B - A) with Newcombe's hybrid score interval for paired
  proportions (Newcombe 1998, Stat Med 17:2635, method 10), which never collapses to zero width;
- McNemar's test on the discordant items (exact binomial below 25 discordant pairs);
- Holm's step-down adjustment across every row of the comparison (overall and each group), so
  "significant somewhere" is not found by looking in enough places.

A row's decision: "insufficient_data" when fewer than `min_n` paired items, else "improved" or
"regressed" when the Holm-adjusted p-value is below alpha (the sign of the difference says
which), else "no_significant_change".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from worker.engine.intervals import paired_difference
from worker.engine.stats import CONFIDENCE_LEVEL, holm_adjust, mcnemar, wilson_interval

Decision = Literal["improved", "regressed", "no_significant_change", "insufficient_data"]
MIN_N = 30
ALPHA = 0.05
# The labels of an item that a comparison is broken down by, when the item has them.
DIMENSIONS = ("specialty", "language", "group")


@dataclass(frozen=True)
class Outcome:
    """One scored item of one version: whether it was right, and its grouping labels."""

    correct: bool
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PairedInterval:
    estimate: float | None
    low: float | None
    high: float | None
    n: int
    method: str = "newcombe-paired-score"
    level: float = CONFIDENCE_LEVEL


def newcombe_paired_interval(
    both: int, first_only: int, second_only: int, neither: int, *, level: float = CONFIDENCE_LEVEL
) -> PairedInterval:
    """Interval for p1 - p2 from a paired 2x2 table (Newcombe 1998, method 10).

    `first_only` counts units where the first classification succeeded and the second failed;
    the interval itself is `intervals.paired_difference`, fed the table as paired outcomes.
    """
    counts = (both, first_only, second_only, neither)
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must be >= 0, got {counts}")
    first = [True] * (both + first_only) + [False] * (second_only + neither)
    second = [True] * both + [False] * first_only + [True] * second_only + [False] * neither
    found = paired_difference(first, second, level=level)
    return PairedInterval(found.value, found.low, found.high, found.n, level=level)


@dataclass(frozen=True)
class ComparisonRow:
    """One metric of the comparison: overall or one group (e.g. specialty=cardiology)."""

    check: str
    dimension: str  # "overall" or one of DIMENSIONS
    group: str  # "" for overall
    n: int
    accuracy_a: float | None
    accuracy_a_ci: tuple[float | None, float | None]
    accuracy_b: float | None
    accuracy_b_ci: tuple[float | None, float | None]
    difference: PairedInterval
    newly_wrong: int  # A right, B wrong
    newly_right: int  # A wrong, B right
    p_value: float
    p_holm: float = 1.0
    decision: Decision = "insufficient_data"
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accuracy_a_ci"] = list(self.accuracy_a_ci)
        data["accuracy_b_ci"] = list(self.accuracy_b_ci)
        return data


@dataclass(frozen=True)
class Comparison:
    rows: list[ComparisonRow]
    newly_wrong: list[str]  # unit keys, for review
    newly_right: list[str]
    only_in_a: int
    only_in_b: int
    min_n: int
    alpha: float
    level: float
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": [row.as_dict() for row in self.rows],
            "newly_wrong": self.newly_wrong,
            "newly_right": self.newly_right,
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "min_n": self.min_n,
            "alpha": self.alpha,
            "level": self.level,
            "method": {
                "difference": "Newcombe paired score interval (method 10), B - A",
                "test": "McNemar (exact binomial below 25 discordant pairs, else chi-square "
                "with continuity correction)",
                "multiplicity": "Holm step-down across every row",
            },
            "summary": self.summary,
        }


def _row(
    check: str, dimension: str, group: str, pairs: Sequence[tuple[bool, bool]], level: float
) -> ComparisonRow:
    both = sum(1 for a, b in pairs if a and b)
    a_only = sum(1 for a, b in pairs if a and not b)
    b_only = sum(1 for a, b in pairs if b and not a)
    neither = len(pairs) - both - a_only - b_only
    n = len(pairs)
    wa = wilson_interval(both + a_only, n, confidence_level=level)
    wb = wilson_interval(both + b_only, n, confidence_level=level)
    return ComparisonRow(
        check=check,
        dimension=dimension,
        group=group,
        n=n,
        accuracy_a=wa.value,
        accuracy_a_ci=(wa.low, wa.high),
        accuracy_b=wb.value,
        accuracy_b_ci=(wb.low, wb.high),
        difference=newcombe_paired_interval(both, b_only, a_only, neither, level=level),
        newly_wrong=a_only,
        newly_right=b_only,
        p_value=mcnemar(a_only, b_only).p_value,
    )


def _decide(row: ComparisonRow, p_holm: float, *, min_n: int, alpha: float) -> ComparisonRow:
    diff = row.difference
    if row.n < min_n:
        decision: Decision = "insufficient_data"
        reason = f"n = {row.n} paired items, under the minimum of {min_n}"
    elif p_holm < alpha and (diff.estimate or 0) != 0:
        decision = "improved" if (diff.estimate or 0) > 0 else "regressed"
        reason = f"McNemar p = {row.p_value:.3g}, Holm-adjusted {p_holm:.3g} < {alpha:g}"
    else:
        decision = "no_significant_change"
        reason = f"McNemar p = {row.p_value:.3g}, Holm-adjusted {p_holm:.3g} >= {alpha:g}"
    return ComparisonRow(
        **{**row.__dict__, "p_holm": p_holm, "decision": decision, "reason": reason}
    )


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f}"


def _summary(rows: Sequence[ComparisonRow], newly_wrong: int) -> str:
    changed = [r for r in rows if r.decision in ("improved", "regressed")]
    parts = []
    for r in changed:
        where = "overall" if r.dimension == "overall" else f"{r.dimension} {r.group}"
        d = r.difference
        parts.append(
            f"{r.check} {where}: {_points(d.estimate)} points "
            f"[{_points(d.low)}, {_points(d.high)}] ({r.decision})"
        )
    if not parts:
        parts.append("no significant change on any metric")
    elif len(changed) < len(rows):
        parts.append("no significant change elsewhere")
    parts.append(f"{newly_wrong} item{'s' if newly_wrong != 1 else ''} newly wrong")
    return "; ".join(parts)


def compare_versions(
    a: Mapping[str, Outcome],
    b: Mapping[str, Outcome],
    *,
    check_of: Mapping[str, str] | None = None,
    min_n: int = MIN_N,
    alpha: float = ALPHA,
    level: float = CONFIDENCE_LEVEL,
) -> Comparison:
    """Compare version B against version A on the units (keys) both answered.

    `check_of` names the check of each unit key (one comparison table per check); without it
    every unit belongs to a single check called "all".
    """
    shared = sorted(set(a) & set(b))
    check_of = check_of or {}
    by_row: dict[tuple[str, str, str], list[tuple[bool, bool]]] = defaultdict(list)
    for key in shared:
        pair = (a[key].correct, b[key].correct)
        check = check_of.get(key, "all")
        by_row[(check, "overall", "")].append(pair)
        labels = {**a[key].labels, **b[key].labels}
        for dimension in DIMENSIONS:
            if labels.get(dimension):
                by_row[(check, dimension, labels[dimension])].append(pair)
    raw = [_row(c, d, g, pairs, level) for (c, d, g), pairs in sorted(by_row.items())]
    adjusted = holm_adjust([r.p_value for r in raw]) if raw else []
    rows = [_decide(r, p, min_n=min_n, alpha=alpha) for r, p in zip(raw, adjusted, strict=True)]
    newly_wrong = [k for k in shared if a[k].correct and not b[k].correct]
    newly_right = [k for k in shared if b[k].correct and not a[k].correct]
    return Comparison(
        rows=rows,
        newly_wrong=newly_wrong,
        newly_right=newly_right,
        only_in_a=len(set(a) - set(b)),
        only_in_b=len(set(b) - set(a)),
        min_n=min_n,
        alpha=alpha,
        level=level,
        summary=_summary(rows, len(newly_wrong)),
    )


@dataclass(frozen=True)
class MapCell:
    """Accuracy of one specialty x language cell, with its Wilson interval."""

    specialty: str
    language: str
    correct: int
    n: int
    accuracy: float | None
    low: float | None
    high: float | None
    sufficient: bool
    drift: PairedInterval | None = None  # against the previous comparable run, shared items

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def generalisation_map(
    outcomes: Mapping[str, Outcome],
    *,
    previous: Mapping[str, Outcome] | None = None,
    min_n: int = MIN_N,
    level: float = CONFIDENCE_LEVEL,
) -> list[MapCell]:
    """Accuracy by specialty x language, weakest cells first (by the interval's upper bound).

    Cells under `min_n` items are kept but marked insufficient and listed after the others, so
    the weakest *well-measured* cell leads. With `previous`, each cell carries its drift: the
    paired difference (now - previous) on the items both runs scored.
    """
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, outcome in outcomes.items():
        cell = (outcome.labels.get("specialty") or "-", outcome.labels.get("language") or "-")
        cells[cell].append(key)
    result = []
    for (specialty, language), keys in cells.items():
        correct = sum(1 for k in keys if outcomes[k].correct)
        w = wilson_interval(correct, len(keys), confidence_level=level)
        drift = None
        if previous is not None:
            pairs = [(outcomes[k].correct, previous[k].correct) for k in keys if k in previous]
            drift = _paired(pairs, level)
        result.append(
            MapCell(
                specialty,
                language,
                correct,
                len(keys),
                w.value,
                w.low,
                w.high,
                len(keys) >= min_n,
                drift,
            )
        )
    return sorted(
        result,
        key=lambda c: (
            not c.sufficient,
            c.high if c.high is not None else 1.0,
            c.specialty,
            c.language,
        ),
    )


def _paired(pairs: Iterable[tuple[bool, bool]], level: float) -> PairedInterval:
    pairs = list(pairs)
    both = sum(1 for x, y in pairs if x and y)
    first = sum(1 for x, y in pairs if x and not y)
    second = sum(1 for x, y in pairs if y and not x)
    return newcombe_paired_interval(
        both, first, second, len(pairs) - both - first - second, level=level
    )
