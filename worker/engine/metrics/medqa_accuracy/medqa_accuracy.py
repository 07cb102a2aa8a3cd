"""Multiple-choice accuracy and calibration (MedQA, MedMCQA, MMedBench style items)."""

from __future__ import annotations

from typing import Any

import datasets  # type: ignore[import-untyped, unused-ignore]
import evaluate  # type: ignore[import-untyped, unused-ignore]
import numpy as np

from worker.engine.intervals import ProportionMethod, proportion_of
from worker.engine.metrics.answers import answer_letters, is_correct
from worker.engine.stats import (
    CONFIDENCE_LEVEL,
    ECE_BINS,
    N_RESAMPLES,
    BootstrapMethod,
    bootstrap_ci,
    brier_per_item,
    expected_calibration_error_ci,
    softmax,
)

_CITATION = """\
@article{jin2021medqa,
  title={What Disease does this Patient Have? A Large-scale Open Domain Question Answering
         Dataset from Medical Exams},
  author={Jin, Di and Pan, Eileen and Oufattole, Nassim and Weng, Wei-Hung and Fang, Hanyi
          and Szolovits, Peter},
  journal={Applied Sciences}, volume={11}, number={14}, pages={6421}, year={2021}
}
@inproceedings{guo2017calibration,
  title={On Calibration of Modern Neural Networks},
  author={Guo, Chuan and Pleiss, Geoff and Sun, Yu and Weinberger, Kilian Q.},
  booktitle={ICML}, year={2017}
}
"""

_DESCRIPTION = """\
Multiple-choice accuracy with a Wilson (or Clopper-Pearson) 95% CI, overall and per group
(e.g. specialty), and calibration of the model's probabilities over the offered options:
the softmax of the per-option scores. A one-letter answer is correct when it is a gold letter; a
several-letter answer when its set equals the gold set (MMedBench rule); an empty prediction
(no parseable answer) is wrong, never dropped.
Expected calibration error uses equal-width bins on [0, 1] (default 10) and the probability
of the chosen option as confidence; the Brier score is multi-class, sum_k (p_k - y_k)^2 per
item, averaged (range 0-2), both with bootstrap CIs. Calibration uses single-answer items
that have option scores.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions: chosen letter(s) per item, "A" or "A,C"; "" when nothing was parseable.
    references: gold letters per item.
    option_letters: the offered letters per item, in order.
    option_scores: log-likelihood per offered option, same order; [] when not scored.
    groups: group label per item (e.g. specialty); "" for none.
    seed: bootstrap seed. n_bins: ECE bins (default 10). n_resamples, confidence_level,
    bootstrap_method: bootstrap settings (ECE, Brier). proportion_method: "wilson" or
    "clopper_pearson" (accuracy).
Returns:
    accuracy, ece, brier: {value, low, high, n}; accuracy_by_group: {group: {...}}; n_bins.
    ece.n counts items with a chosen option and scores, brier.n items with scores.
"""


class MedqaAccuracy(evaluate.Metric):  # type: ignore[misc, unused-ignore]
    def _info(self) -> Any:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Sequence(datasets.Value("string")),
                    "option_letters": datasets.Sequence(datasets.Value("string")),
                    "option_scores": datasets.Sequence(datasets.Value("float64")),
                    "groups": datasets.Value("string"),
                }
            ),
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[list[str]],
        option_letters: list[list[str]],
        option_scores: list[list[float]],
        groups: list[str],
        seed: int = 0,
        n_bins: int = ECE_BINS,
        n_resamples: int = N_RESAMPLES,
        confidence_level: float = CONFIDENCE_LEVEL,
        bootstrap_method: BootstrapMethod = "percentile",
        proportion_method: ProportionMethod = "wilson",
    ) -> dict[str, Any]:
        boot: dict[str, Any] = {
            "seed": seed,
            "n_resamples": n_resamples,
            "confidence_level": confidence_level,
            "method": bootstrap_method,
        }
        prop: dict[str, Any] = {"level": confidence_level, "method": proportion_method}
        correct = [is_correct(p, r) for p, r in zip(predictions, references, strict=True)]
        by_group: dict[str, list[bool]] = {}
        for ok, group in zip(correct, groups, strict=True):
            if group:
                by_group.setdefault(group, []).append(ok)

        confidences: list[float] = []
        hits: list[bool] = []
        probabilities: list[Any] = []
        gold_index: list[int] = []
        rows = zip(predictions, references, option_letters, option_scores, correct, strict=True)
        for prediction, gold, letters, scores, ok in rows:
            if not scores or len(scores) != len(letters) or len(set(gold)) != 1:
                continue
            if gold[0] not in letters:
                continue
            probs = softmax(scores)
            probabilities.append(probs)
            gold_index.append(letters.index(gold[0]))
            chosen = answer_letters(prediction)
            if len(chosen) == 1 and next(iter(chosen)) in letters:
                confidences.append(float(probs[letters.index(next(iter(chosen)))]))
                hits.append(ok)

        ece = expected_calibration_error_ci(
            np.asarray(confidences), np.asarray(hits, dtype=float), n_bins=n_bins, **boot
        )
        brier = bootstrap_ci(brier_per_item(probabilities, gold_index), **boot)
        return {
            "accuracy": proportion_of(correct, **prop).as_dict(),
            "accuracy_by_group": {
                g: proportion_of(v, **prop).as_dict() for g, v in sorted(by_group.items())
            },
            "ece": ece.as_dict(),
            "brier": brier.as_dict(),
            "n_bins": n_bins,
        }
