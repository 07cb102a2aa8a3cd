"""Multilingual parity on parallel items: accuracy per language, gaps, answer consistency."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import datasets  # type: ignore[import-untyped, unused-ignore]
import evaluate  # type: ignore[import-untyped, unused-ignore]
import numpy as np

from worker.engine.metrics.answers import is_correct, same_answer
from worker.engine.stats import (
    CONFIDENCE_LEVEL,
    N_RESAMPLES,
    BootstrapMethod,
    bootstrap_ci,
    clustered_rate_ci,
    paired_difference_ci,
)

_CITATION = """\
@article{qiu2024mmedlm,
  title={Towards building multilingual language model for medicine},
  author={Qiu, Pengcheng and Wu, Chaoyi and Zhang, Xiaoman and Lin, Weixiong and Wang, Haicheng
          and Zhang, Ya and Wang, Yanfeng and Xie, Weidi},
  journal={Nature Communications}, volume={15}, pages={8384}, year={2024}
}
"""

_DESCRIPTION = """\
Parallel multiple-choice items (one id, several languages). Accuracy acc_L per language with a
bootstrap 95% CI; gap to the pivot language Delta_L = acc_pivot - acc_L over the items present
in both (paired bootstrap CI); worst-language ratio min_L acc_L / acc_pivot over the other
languages; cross-lingual consistency: share of (item, language pair) where both answers name
the same option letter(s) (an unparseable answer is never consistent), CI by resampling items.
"""

_KWARGS_DESCRIPTION = """\
Args:
    ids: parallel item id (the same across languages); languages: ISO 639-1 code.
    predictions: chosen letter(s); "" when nothing was parseable. references: gold letters.
    pivot: the reference language (default "en").
    seed, n_resamples, confidence_level, bootstrap_method: bootstrap settings.
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
    ) -> dict[str, Any]:
        boot: dict[str, Any] = {
            "seed": seed,
            "n_resamples": n_resamples,
            "confidence_level": confidence_level,
            "method": bootstrap_method,
        }
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
        accuracy = {
            lang: bootstrap_ci(np.asarray(list(right[lang].values()), dtype=float), **boot)
            for lang in langs
        }
        others = [lang for lang in langs if lang != pivot]
        gaps: dict[str, Any] = {}
        if pivot in right:
            for lang in others:
                shared = sorted(set(right[pivot]) & set(right[lang]))
                gaps[lang] = paired_difference_ci(
                    np.asarray([right[pivot][i] for i in shared], dtype=float),
                    np.asarray([right[lang][i] for i in shared], dtype=float),
                    **boot,
                ).as_dict()

        worst: dict[str, Any] = {"value": None, "language": None}
        pivot_acc = accuracy[pivot].value if pivot in accuracy else None
        if pivot_acc and others:
            lang = min(others, key=lambda x: accuracy[x].value or 0.0)
            worst = {"value": (accuracy[lang].value or 0.0) / pivot_acc, "language": lang}

        by_pair: dict[str, Any] = {}
        all_ids = sorted(set(ids))
        consistent = np.zeros(len(all_ids))
        pairs = np.zeros(len(all_ids))
        position = {item_id: i for i, item_id in enumerate(all_ids)}
        for l1, l2 in combinations(langs, 2):
            shared = sorted(set(answer[l1]) & set(answer[l2]))
            same = np.asarray(
                [same_answer(answer[l1][i], answer[l2][i]) for i in shared], dtype=float
            )
            for item_id, hit in zip(shared, same, strict=True):
                consistent[position[item_id]] += hit
                pairs[position[item_id]] += 1
            if shared:
                by_pair[f"{l1}-{l2}"] = bootstrap_ci(same, **boot).as_dict()

        gap_max = max(
            ({**g, "language": lang} for lang, g in gaps.items() if g["value"] is not None),
            key=lambda g: g["value"],
            default=None,
        )
        return {
            "pivot": pivot,
            "accuracy_by_language": {lang: accuracy[lang].as_dict() for lang in langs},
            "gap_to_pivot": gaps,
            "gap_to_pivot_max": gap_max,
            "worst_language_ratio": worst,
            "consistency": clustered_rate_ci(consistent, pairs, **boot).as_dict(),
            "consistency_by_pair": by_pair,
            "n_parallel_items": int(np.sum(pairs > 0)),
        }
