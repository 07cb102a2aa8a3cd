"""The reasoning-mode study on the platform: a suite asks for it in its parameters
(`"reasoning_study": {"items": 200, "reasoning_max_new_tokens": 256, "prices": {...}}`), and
a succeeded run of that suite gets a signed study report: the run's model version, loaded as
its shards load it, answers the suite's multiple-choice items (read with the same readers and
routing as the run's plan) directly and with chain-of-thought, on a gpu-queue worker.
"""

from __future__ import annotations

from typing import Any

from apps.common import filestore
from apps.evaluations.models import EvaluationRun
from apps.reports.comparison_report import reasoning_report_create
from apps.reports.models import ComparisonReport
from worker.engine.reasoning import study_config_from

KEY = "reasoning_study"
STUDY_CHECKS = ("knowledge",)  # the datasets routed to these checks hold the study's items


class StudyRefused(Exception):
    """This run cannot have a reasoning-mode study; the message says why and what to change."""


def requested_run(*, run: EvaluationRun) -> EvaluationRun:
    """Check that the run can be studied, before a worker is asked to."""
    params = (run.suite.parameters or {}).get(KEY)
    if params is None:
        raise StudyRefused(
            f"Suite {run.suite} does not ask for the reasoning-mode study: add "
            '"reasoning_study": {"items": 200} to its parameters (a new suite version).'
        )
    if run.status != EvaluationRun.Status.SUCCEEDED:
        raise StudyRefused(f"Run {run.pk} is {run.status}; study a succeeded run.")
    if "knowledge" not in run.suite.checks:
        raise StudyRefused("The study answers the suite's knowledge items: add that check.")
    try:
        study_config_from(params)
    except ValueError as exc:
        raise StudyRefused(str(exc)) from exc
    return run


def _items(run: EvaluationRun, limit: int | None) -> list[Any]:
    from worker.engine.readers import read_items

    suite = run.suite
    items = []
    for version in suite.datasets.order_by("pk"):
        targets = suite.dataset_checks.get(str(version.pk)) or suite.checks
        if not set(targets) & set(STUDY_CHECKS):
            continue
        with filestore.local_copy(str(version.file.name)) as path:
            items.extend(read_items(path, fmt=version.format))
    mcq = [i for i in items if i.task == "mcq" and i.options]
    return mcq[:limit] if limit else mcq


def reasoning_report_for_run(*, run_id: int, user: Any = None) -> ComparisonReport:
    """Run the study for a succeeded run and issue its signed report (a gpu-queue task)."""
    from apps.evaluations.services.shards import _load
    from worker.engine.reasoning import reasoning_study
    from worker.engine.scoring import Scorer

    run = requested_run(
        run=EvaluationRun.objects.select_related("suite", "model_version__model").get(pk=run_id)
    )
    config, limit = study_config_from(run.suite.parameters[KEY])
    items = _items(run, limit)
    if not items:
        raise StudyRefused(f"Suite {run.suite} holds no multiple-choice knowledge items.")
    loaded = _load(run.model_version)
    study = reasoning_study(Scorer(loaded, seed=run.seed), items, config=config)
    study["run"] = run.pk
    return reasoning_report_create(
        version=run.model_version, suite=run.suite, study=study, user=user
    )
