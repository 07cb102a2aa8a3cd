"""Reading preference studies: blind pairs, who may see which judgments, and the results."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import models

from apps.common.tenancy import Actor, scope
from apps.signoffs import stats
from apps.signoffs.constants import CRITERIA, JUDGE_ROLES
from apps.signoffs.models import PreferenceJudgment, PreferencePair, PreferenceStudy

CATEGORIES = ("a", "b", "tie")


def study_list(*, actor: Actor) -> models.QuerySet[PreferenceStudy]:
    """Studies of the actor's organisations only."""
    return scope(PreferenceStudy.objects.all(), actor).select_related("organization")


def blind_pair(pair: PreferencePair) -> dict[str, Any]:
    """A pair as a reviewer sees it: left and right, never which answer is A."""
    left, right = (
        (pair.answer_a, pair.answer_b) if pair.a_on_left else (pair.answer_b, pair.answer_a)
    )
    return {
        "id": pair.pk,
        "position": pair.position,
        "prompt": pair.prompt,
        "left": left,
        "right": right,
    }


def _is_judge(actor: Actor, study: PreferenceStudy) -> bool:
    return actor.role_in(study.organization_id) in JUDGE_ROLES


def visible_judgments(
    *, study: PreferenceStudy, actor: Actor
) -> models.QuerySet[PreferenceJudgment]:
    """A judge sees others' judgments of a pair only once they have judged it themselves
    (or once the study is closed); roles that do not judge see them all."""
    qs = PreferenceJudgment.objects.filter(pair__study=study).select_related("pair")
    if study.closed_at is not None or not _is_judge(actor, study):
        return qs
    mine = PreferenceJudgment.objects.filter(pair__study=study, reviewer=actor.user)
    return qs.filter(models.Q(reviewer=actor.user) | models.Q(pair__in=mine.values("pair")))


def results_visible(*, study: PreferenceStudy, actor: Actor) -> tuple[bool, str]:
    """Aggregates reveal others' judgments: a judge sees them after judging every pair."""
    if study.closed_at is not None or not _is_judge(actor, study):
        return True, ""
    left = study.pairs.exclude(judgments__reviewer=actor.user).count()
    if left:
        return False, f"Judge the remaining {left} pair(s) first, or wait until the study closes."
    return True, ""


def _agreement(judgments: list[PreferenceJudgment], seed: int) -> dict[str, Any]:
    by_pair: dict[int, dict[int, str]] = defaultdict(dict)
    for j in judgments:
        by_pair[j.pair_id][j.reviewer_id] = j.preference
    raters = sorted({j.reviewer_id for j in judgments})
    shared = [p for p, votes in sorted(by_pair.items()) if len(votes) == len(raters)]
    if len(raters) < 2:
        return {
            "method": None,
            "raters": len(raters),
            "n": 0,
            "kappa": None,
            "reason": "agreement needs two or more reviewers",
        }
    if len(raters) == 2:
        first = [by_pair[p][raters[0]] for p in shared]
        second = [by_pair[p][raters[1]] for p in shared]
        return stats.cohen(first, second, CATEGORIES)
    ratings = [[by_pair[p][r] for r in raters] for p in shared]
    return stats.fleiss(ratings, CATEGORIES, seed=seed)


def study_results(*, study: PreferenceStudy) -> dict[str, Any]:
    """Win rates, Bradley–Terry scores, agreement and per-criterion means of a study."""
    judgments = list(PreferenceJudgment.objects.filter(pair__study=study).order_by("id"))
    counts = {c: sum(1 for j in judgments if j.preference == c) for c in CATEGORIES}
    half = counts["tie"] / 2
    strengths = stats.bradley_terry([[0, counts["a"] + half], [counts["b"] + half, 0]])
    criteria: dict[str, dict[str, Any]] = {}
    for side, field in (("a", "ratings_a"), ("b", "ratings_b")):
        values = {c: [getattr(j, field)[c] for j in judgments] for c in CRITERIA}
        criteria[side] = stats.criterion_means(values)
    return {
        "study": study.pk,
        "labels": {"a": study.label_a, "b": study.label_b},
        "pairs": study.pairs.count(),
        "judgments": len(judgments),
        "reviewers": len({j.reviewer_id for j in judgments}),
        "win_rate": stats.win_rate(counts["a"], counts["b"], counts["tie"]),
        "bradley_terry": {
            "a": strengths[0],
            "b": strengths[1],
            "method": "MM (Hunter 2004), ties as half a win each, geometric mean 1",
        },
        "agreement": _agreement(judgments, study.seed),
        "criteria": criteria,
    }
