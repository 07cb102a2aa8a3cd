"""Statistics of preference studies: win rates, Bradley–Terry scores, inter-rater agreement.

Plain Python (numpy, scipy, statsmodels), no Django. Conventions, as the README documents:
- Win rate of A = wins_A / (wins_A + wins_B), ties excluded, with a 95 % Wilson score
  interval; the tie rate is reported beside it, and so is the "ties count half" rate
  (wins_A + ties/2) / n for comparison with leaderboards that use it.
- Bradley–Terry strengths by Hunter's (2004) MM iteration, each tie counted as half a win
  for both sides, normalised to geometric mean 1; undefined (None) for a version that never
  won or never lost (the maximum-likelihood estimate is then 0 or infinite).
- Agreement on the preference (A, B, tie): Cohen's kappa for two raters with statsmodels'
  asymptotic 95 % interval; Fleiss' kappa for three or more, with a seeded bootstrap over
  pairs (2,000 resamples, percentile). Only pairs judged by every rater are used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats as scipy_stats
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

Z95 = float(scipy_stats.norm.ppf(0.975))
BOOTSTRAP_RESAMPLES = 2000


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (Newcombe 1998, method 3); None when n = 0."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def win_rate(wins_a: int, wins_b: int, ties: int) -> dict[str, Any]:
    """Each side's win rate among decisive judgments, its 95 % interval, and the tie share."""
    decisive = wins_a + wins_b
    n = decisive + ties
    out: dict[str, Any] = {
        "n": n,
        "decisive": decisive,
        "ties": ties,
        "tie_rate": ties / n if n else None,
        "method": "wilson",
        "level": 0.95,
        "ties_handling": "excluded from the win rate; reported as tie_rate",
    }
    for side, wins in (("a", wins_a), ("b", wins_b)):
        interval = wilson_interval(wins, decisive)
        out[side] = {
            "wins": wins,
            "rate": wins / decisive if decisive else None,
            "low": interval[0] if interval else None,
            "high": interval[1] if interval else None,
            "rate_ties_half": (wins + ties / 2) / n if n else None,
        }
    return out


def bradley_terry(
    wins: Sequence[Sequence[float]], *, tol: float = 1e-10, max_iter: int = 10_000
) -> list[float | None]:
    """Bradley–Terry strengths from a win matrix (wins[i][j]: times i beat j), by MM.

    Normalised to geometric mean 1 over the items with a finite estimate.
    """
    w = np.asarray(wins, dtype=float)
    k = w.shape[0]
    if w.shape != (k, k):
        raise ValueError("the win matrix must be square")
    games = w + w.T
    won = w.sum(axis=1)
    lost = w.sum(axis=0)
    finite = (won > 0) & (lost > 0)
    if finite.sum() == 0:
        return [None] * k
    p = np.ones(k)
    for _ in range(max_iter):
        new = p.copy()
        for i in np.flatnonzero(finite):
            others = [j for j in np.flatnonzero(finite) if j != i and games[i, j] > 0]
            denom = sum(games[i, j] / (p[i] + p[j]) for j in others)
            new[i] = won[i] / denom if denom > 0 else p[i]
        new[finite] /= math.exp(float(np.log(new[finite]).mean()))
        done = float(np.max(np.abs(new - p))) < tol
        p = new
        if done:
            break
    return [float(p[i]) if finite[i] else None for i in range(k)]


def cohen(
    ratings_1: Sequence[str], ratings_2: Sequence[str], categories: Sequence[str]
) -> dict[str, Any]:
    """Cohen's kappa of two raters over the same items, with its asymptotic 95 % interval."""
    n = len(ratings_1)
    base: dict[str, Any] = {"method": "cohen", "raters": 2, "n": n, "level": 0.95}
    if n == 0:
        return {**base, "kappa": None, "low": None, "high": None, "reason": "no shared items"}
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for a, b in zip(ratings_1, ratings_2, strict=True):
        table[index[a], index[b]] += 1
    expected = float((table.sum(0) * table.sum(1)).sum()) / (n * n)
    if expected >= 1.0:
        return {
            **base,
            "kappa": None,
            "low": None,
            "high": None,
            "reason": "undefined: both raters used a single category",
        }
    with np.errstate(invalid="ignore", divide="ignore"):  # its z-test divides by 0 at kappa 1
        result = cohens_kappa(table)
    return {
        **base,
        "kappa": float(result.kappa),
        "low": float(result.kappa_low),
        "high": float(result.kappa_upp),
        "observed_agreement": float(np.trace(table)) / n,
    }


def fleiss_table(ratings: Sequence[Sequence[str]], categories: Sequence[str]) -> np.ndarray:
    """Subjects × categories counts from each subject's list of ratings."""
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(ratings), len(categories)))
    for row, subject in enumerate(ratings):
        for rating in subject:
            table[row, index[rating]] += 1
    return table


def _fleiss(table: np.ndarray) -> float | None:
    totals = table.sum(axis=0) / table.sum()
    if float((totals**2).sum()) >= 1.0:
        return None
    return float(fleiss_kappa(table, method="fleiss"))


def fleiss(
    ratings: Sequence[Sequence[str]], categories: Sequence[str], *, seed: int = 0
) -> dict[str, Any]:
    """Fleiss' kappa of m >= 2 raters per item, with a seeded bootstrap 95 % interval."""
    n = len(ratings)
    raters = len(ratings[0]) if n else 0
    base: dict[str, Any] = {"method": "fleiss", "raters": raters, "n": n, "level": 0.95}
    if n == 0:
        return {**base, "kappa": None, "low": None, "high": None, "reason": "no shared items"}
    table = fleiss_table(ratings, categories)
    kappa = _fleiss(table)
    if kappa is None:
        return {
            **base,
            "kappa": None,
            "low": None,
            "high": None,
            "reason": "undefined: every rating in a single category",
        }
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        value = _fleiss(table[rng.integers(0, n, size=n)])
        if value is not None:
            samples.append(value)
    low, high = (
        (float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5)))
        if n > 1 and samples
        else (None, None)
    )
    return {**base, "kappa": kappa, "low": low, "high": high, "interval": "bootstrap percentile"}


def criterion_means(values: Mapping[str, Sequence[int]]) -> dict[str, dict[str, Any]]:
    """Mean of each criterion's 1–5 ratings with a t-based 95 % interval (None when n < 2)."""
    out: dict[str, dict[str, Any]] = {}
    for name, xs in values.items():
        n = len(xs)
        if n == 0:
            out[name] = {"mean": None, "low": None, "high": None, "n": 0}
            continue
        mean = float(np.mean(xs))
        if n < 2:
            out[name] = {"mean": mean, "low": None, "high": None, "n": n}
            continue
        sem = float(np.std(xs, ddof=1)) / math.sqrt(n)
        half = float(scipy_stats.t.ppf(0.975, n - 1)) * sem
        out[name] = {"mean": mean, "low": mean - half, "high": mean + half, "n": n}
    return out
