"""Multilingual parity on parallel items: accuracy per language, gaps, answer consistency."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import datasets  # type: ignore[import-untyped, unused-ignore]
import evaluate  # type: ignore[import-untyped, unused-ignore]
import numpy as np

from worker.engine.intervals import (
    ProportionMethod,
    bonferroni_level,
    clustered_proportion,
    extreme,
    paired_difference,
    paired_ratio,
    proportion_of,
)
from worker.engine.metrics.answers import is_correct, same_answer
from worker.engine.stats import CONFIDENCE_LEVEL, N_RESAMPLES, BootstrapMethod, Interval

_CITATION = """\
@article{qiu2024mmedlm,
  title={Towards building multilingual language model for medicine},
  author={Qiu, Pengcheng and Wu, Chaoyi and Zhang, Xiaoman and Lin, Weixiong and Wang, Haicheng
          and Zhang, Ya and Wang, Yanfeng and Xie, Weidi},
  journal={Nature Communications}, volume={15}, pages={8384}, year={2024}
}
"""

_DESCRIPTION = """\
Parallel multiple-choice items (one parallel id, several languages), on the items present in
every language. Accuracy acc_L per language (Wilson CI); gap to the pivot language
Delta_L = acc_pivot - acc_L (Newcombe paired CI); the largest gap and the worst-language
ratio min_L acc_L / acc_pivot (MOVER-Wilson paired ratio) with Bonferroni-simultaneous
intervals over the languages, as they were selected; cross-lingual consistency: share of
(item, language pair) where both answers name the same option letter(s) (an unparseable
answer is never consistent), Wilson with n = items.
"""

_KWARGS_DESCRIPTION = """\
Args:
    ids: parallel_id (the same across languages); languages: ISO 639-1 code.
    predictions: chosen letter(s); "" when nothing was parseable. references: gold letters.
    pivot: the reference language (default "en").
    confidence_level, proportion_method: the intervals (seed, n_resamples, bootstrap_method
        are accepted for a uniform call and unused).
Returns:
    accuracy_by_language, gap_to_pivot, consistency_by_pair: {key: {value, low, high, n}};
    consistency, gap_to_pivot_max (with its language), worst_language_ratio (value, language).
"""


class Multilingual(evaluate.Metric):  # type: ignore[misc, unused-ignore]
    def _info(self) -> Any:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "ids": datasets.Value("string"),
                    "languages": datasets.Value("string"),
                    "predictions": datasets.Value("string"),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(
        self,
        ids: list[str],
        languages: list[str],
        predictions: list[str],
        references: list[list[str]],
        pivot: str = "en",
        seed: int = 0,
        n_resamples: int = N_RESAMPLES,
        confidence_level: float = CONFIDENCE_LEVEL,
        bootstrap_method: BootstrapMethod = "percentile",
        proportion_method: ProportionMethod = "wilson",
    ) -> dict[str, Any]:
        del seed, n_resamples, bootstrap_method  # every interval here is a score interval
        level = confidence_level
        prop: dict[str, Any] = {"level": level, "method": proportion_method}
        answer: dict[str, dict[str, str]] = {}  # language -> id -> prediction
        right: dict[str, dict[str, bool]] = {}
        for item_id, lang, prediction, gold in zip(
            ids, languages, predictions, references, strict=True
        ):
            if item_id in answer.setdefault(lang, {}):
                raise ValueError(f"item {item_id!r} appears twice in language {lang!r}")
            answer[lang][item_id] = prediction
            right.setdefault(lang, {})[item_id] = is_correct(prediction, gold)

        langs = sorted(answer)
        # Accuracy per language on the items every language shares (the same questions).
        common = sorted(set.intersection(*(set(right[lang]) for lang in langs))) if langs else []
        accuracy = {lang: proportion_of([right[lang][i] for i in common], **prop) for lang in langs}
        others = [lang for lang in langs if lang != pivot]
        gaps, gaps_simultaneous, ratios = _pivot_gaps(right, pivot, others, common, level)
        gap_max = extreme(gaps_simultaneous, kind="max", level=level, method="max_bonferroni")
        worst = extreme(ratios, kind="min", level=level, method="min_bonferroni_mover_wilson")

        consistent, pairs, by_pair = _consistency(answer, langs, common, prop)

        def named(interval: Interval, values: list[Interval]) -> dict[str, Any] | None:
            if interval.value is None:
                return None
            index = [v.value for v in values].index(interval.value)
            return {**interval.as_dict(), "language": others[index]}

        return {
            "pivot": pivot,
            "accuracy_by_language": {lang: accuracy[lang].as_dict() for lang in langs},
            "gap_to_pivot": gaps,
            "gap_to_pivot_max": named(gap_max, gaps_simultaneous),
            "worst_language_ratio": named(worst, ratios) or {**worst.as_dict(), "language": None},
            # n = items: the language pairs of one item are not independent.
            "consistency": clustered_proportion(consistent, pairs, level=level).as_dict(),
            "consistency_by_pair": by_pair,
            "n_parallel_items": len(common),
            "n_items_not_in_every_language": len(set(ids)) - len(common),
        }


def _consistency(
    answer: dict[str, dict[str, str]], langs: list[str], common: list[str], prop: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Per item, consistent language pairs out of all pairs; per language pair, the share."""
    by_pair: dict[str, Any] = {}
    position = {item_id: i for i, item_id in enumerate(common)}
    consistent = np.zeros(len(common))
    pairs = np.zeros(len(common))
    for l1, l2 in combinations(langs, 2):
        same = [same_answer(answer[l1][i], answer[l2][i]) for i in common]
        for item_id, hit in zip(common, same, strict=True):
            consistent[position[item_id]] += hit
            pairs[position[item_id]] += 1
        if common:
            by_pair[f"{l1}-{l2}"] = proportion_of(same, **prop).as_dict()
    return consistent, pairs, by_pair


def _pivot_gaps(
    right: dict[str, dict[str, bool]],
    pivot: str,
    others: list[str],
    common: list[str],
    level: float,
) -> tuple[dict[str, Any], list[Interval], list[Interval]]:
    """Each language against the pivot: the accuracy gap at the nominal level, and the gap and
    the accuracy ratio at the Bonferroni level over the languages (for the max and the min)."""
    level_each = bonferroni_level(level, len(others))
    gaps: dict[str, Any] = {}
    gaps_simultaneous: list[Interval] = []
    ratios: list[Interval] = []
    if pivot in right:
        for lang in others:
            x = [right[pivot][i] for i in common]
            y = [right[lang][i] for i in common]
            gaps[lang] = paired_difference(x, y, level=level).as_dict()
            gaps_simultaneous.append(paired_difference(x, y, level=level_each))
            ratios.append(paired_ratio(y, x, level=level_each))
    return gaps, gaps_simultaneous, ratios
