"""The demo's alignment evidence: a second demo version "aligned" with DPO on preference pairs,
evaluated by the same suite version, compared with the first in a signed comparison report;
and a reasoning-mode study (direct vs chain-of-thought) of the first, signed the same way.

Both tiny models have random weights: the reports exercise the machinery and say that the
answers are noise; nothing here is evidence about a real model.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File

from apps.common.tenancy import Actor
from apps.evaluations.models import EvaluationRun, EvaluationSuite
from apps.registry import services as registry
from apps.registry.models import DatasetVersion, ModelVersion, ModelVersionDataset
from apps.reports.models import ComparisonReport

ALIGNED_LABEL = "0.2.0"
ALIGNED_DIR = Path(settings.VAR_DIR) / "models" / "demo-tiny-gpt2-dpo"
PREFERENCES_NAME = "Discharge answer preferences (synthetic)"
REASONING_ITEMS = 40  # knowledge items the reasoning-mode study answers twice


def _preference_file(knowledge: Path, target: Path) -> Path:
    """Preference pairs from the knowledge items' answer keys (chosen: the keyed option)."""
    rng = random.Random(0)
    lines = []
    for raw in knowledge.read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        options = item.get("options") or {}
        gold = str((item.get("gold") or [""])[0])
        wrong = [k for k in options if k != gold]
        if gold not in options or not wrong:
            continue
        lines.append(
            json.dumps(
                {
                    "prompt": item["question"],
                    "chosen": options[gold],
                    "rejected": options[rng.choice(wrong)],
                },
                ensure_ascii=False,
            )
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _preferences(org: Any, knowledge: Path) -> DatasetVersion:
    from apps.registry.models import Dataset

    dataset = Dataset.objects.filter(organization=org, name=PREFERENCES_NAME).first()
    if dataset is None:
        dataset = registry.dataset_create(
            organization=org,
            name=PREFERENCES_NAME,
            description="Demo only: chosen = the keyed answer, rejected = another option.",
        )
    existing = dataset.versions.order_by("-id").first()
    if existing is not None:
        return existing
    path = _preference_file(knowledge, Path(settings.VAR_DIR) / "demo" / "preferences.jsonl")
    with path.open("rb") as handle:
        return registry.dataset_version_create(
            dataset=dataset,
            upload=File(handle, name="preferences.jsonl"),
            format=DatasetVersion.Format.PREFERENCE,
            phi_status=DatasetVersion.PhiStatus.NONE,
            licence="CC BY 4.0 (CareAlign project)",
            provenance="Built by `manage.py demo` from fixtures/evaluation/knowledge.jsonl.",
        )


def aligned_version(org: Any, first: ModelVersion, knowledge: Path) -> ModelVersion:
    from worker.engine.tiny import make_tiny_model

    found = ModelVersion.objects.filter(model=first.model, version_label=ALIGNED_LABEL).first()
    if found is not None:
        return found
    if not (ALIGNED_DIR / "config.json").is_file():
        make_tiny_model(ALIGNED_DIR, seed=1)
    return registry.model_version_create(
        model=first.model,
        version_label=ALIGNED_LABEL,
        source_kind=ModelVersion.SourceKind.LOCAL,
        local_path=str(ALIGNED_DIR),
        base_model="tiny GPT-2 (random weights, built locally)",
        alignment_techniques=["instruction_tuning", "rag", "dpo"],
        lifecycle_stage=ModelVersion.LifecycleStage.VALIDATION,
        training_datasets=[(_preferences(org, knowledge), ModelVersionDataset.Role.PREFERENCE)],
    )


def evaluate(command: Any, suite: EvaluationSuite, version: ModelVersion) -> None:
    """One run of the suite on the version, by the worker (once)."""
    from apps.evaluations import services as evaluations
    from worker.tasks import send_run_start

    done = EvaluationRun.objects.filter(
        model_version=version, suite=suite, status=EvaluationRun.Status.SUCCEEDED
    )
    if done.exists():
        return
    command.stdout.write(f"Evaluating {version} with {suite} ...")
    started = time.monotonic()
    run = evaluations.run_create(
        suite=suite, model_version=version, trigger=EvaluationRun.Trigger.DEMO
    )
    send_run_start(run.pk)
    run = command._wait(run)
    command.stdout.write(f"  run {run.pk}: {run.status} in {time.monotonic() - started:.0f} s")


def _show(command: Any, report: ComparisonReport) -> None:
    from apps.reports.comparison_report import file_name

    path = Path(settings.MEDIA_ROOT) / file_name(report.pdf_sha256, "pdf")
    command.stdout.write(f"  {report.get_kind_display()}: {report.summary}")
    command.stdout.write(f"    PDF {path}\n    sha256 {report.pdf_sha256} (verify at /verify/)")


def reports(command: Any, org: Any, first: ModelVersion, knowledge: Path) -> None:
    """The comparison of the two demo versions and the reasoning-mode study (once each)."""
    from apps.reports import comparison_report as service

    suite = (
        EvaluationSuite.objects.filter(
            organization=org, runs__model_version=first, runs__status="succeeded"
        )
        .order_by("-id")
        .first()
    )
    if suite is None:
        command.stdout.write("  no evaluated suite: no alignment evidence")
        return
    second = aligned_version(org, first, knowledge)
    evaluate(command, suite, second)
    command.stdout.write("Alignment evidence (signed reports):")
    Kind = ComparisonReport.Kind
    found = ComparisonReport.objects.filter(model_version=second, kind=Kind.VERSION_COMPARISON)
    report = found.first()
    if report is None:
        try:
            report = service.version_comparison_report_create(
                actor=Actor(roles={org.pk: "admin"}),
                suite_id=suite.pk,
                version_ids=[first.pk, second.pk],
            )
        except service.ComparisonRefused as exc:
            command.stdout.write(command.style.WARNING(f"  comparison refused: {exc}"))
    if report is not None:
        _show(command, report)
    study = ComparisonReport.objects.filter(model_version=first, kind=Kind.REASONING_STUDY).first()
    if study is None:
        study = service.reasoning_report_create(
            version=first, suite=suite, study=reasoning_study(first, knowledge)
        )
    _show(command, study)


def reasoning_study(version: ModelVersion, knowledge: Path) -> dict[str, Any]:
    from worker.engine.loading import ModelSpec, load_model
    from worker.engine.readers import read_items
    from worker.engine.reasoning import StudyConfig
    from worker.engine.reasoning import reasoning_study as study
    from worker.engine.scoring import Scorer

    items = [i for i in read_items(knowledge) if i.task == "mcq"][:REASONING_ITEMS]
    loaded = load_model(ModelSpec(str(version.source)))
    config = StudyConfig(reasoning_max_new_tokens=48)
    return study(Scorer(loaded, batch_size=8), items, config=config)
