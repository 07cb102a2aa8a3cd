"""Evaluation fixtures: the tiny model, small slices of the project's evaluation data, a suite.

The model is the engine's tiny GPT-2, built from a config and loaded like a real one; the
data are the first items of each file in fixtures/evaluation (one vignette's 15 variants,
three multilingual items in six languages), so a run of all four checks takes seconds.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files import File

from apps.accounts.models import Organization
from apps.evaluations import services
from apps.evaluations.models import EvaluationSuite
from apps.registry import services as registry
from apps.registry.models import AIModel, DatasetVersion, ModelVersion
from tests.apps.evaluations.processes import BROKER, Celery, database_url, drop_connections
from tests.factories import AIModelFactory, DatasetFactory, ModelVersionFactory

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "evaluation"
# (check, file, which lines): small slices, each valid on its own.
SLICES: dict[str, tuple[str, Any]] = {
    "knowledge": ("knowledge.jsonl", lambda i, row: i < 12),
    "hallucination": ("hallucination.jsonl", lambda i, row: i < 6 or 40 <= i < 46),
    "bias": ("bias_vignettes.jsonl", lambda i, row: i < 15),
    "multilingual": ("multilingual.jsonl", lambda i, row: row["id"] in {"kn-001", "kn-002"}),
}
# Rows each check writes for those slices (multilingual: 2 items x 6 languages), each scored
# item with its option-prior twin (bias: 15 variants of v01 and its one prior).
ROWS = {"knowledge": 24, "hallucination": 24, "bias": 16, "multilingual": 24}
PARAMETERS = {"n_resamples": 50}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "celery_worker: runs real Celery worker or beat processes (Redis, PostgreSQL)"
    )


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from worker.engine.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def other_tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from worker.engine.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model-2"), seed=1)


def slice_file(check: str, directory: Path) -> Path:
    name, keep = SLICES[check]
    rows = [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]
    path = directory / f"{check}-{name}"
    path.write_text("".join(json.dumps(r) + "\n" for i, r in enumerate(rows) if keep(i, r)))
    return path


def local_version(model: AIModel, path: Path, label: str = "1.0") -> ModelVersion:
    from worker.engine.loading import weights_digest

    version: ModelVersion = ModelVersionFactory(
        model=model,
        version_label=label,
        source_kind=ModelVersion.SourceKind.LOCAL,
        hub_id="",
        revision="",
        local_path=str(path),
        weights_digest=weights_digest(path),
    )
    return version


@dataclass
class EvalSetup:
    org: Organization
    model: AIModel
    version: ModelVersion
    datasets: dict[str, DatasetVersion]
    suite: EvaluationSuite

    @property
    def rows(self) -> int:
        return sum(ROWS[check] for check in self.suite.checks)


def make_setup(
    org: Organization,
    model_path: Path,
    tmp: Path,
    *,
    checks: tuple[str, ...] = ("knowledge", "hallucination", "bias", "multilingual"),
    thresholds: dict[str, Any] | None = None,
    drift_tolerance: dict[str, Any] | None = None,
) -> EvalSetup:
    model = AIModelFactory(organization=org, name="Tiny")
    version = local_version(model, model_path)
    datasets = {}
    for check in checks:
        path = slice_file(check, tmp)
        with path.open("rb") as handle:
            datasets[check] = registry.dataset_version_create(
                dataset=DatasetFactory(organization=org, name=f"{check} items"),
                upload=File(handle, name=path.name),  # type: ignore[arg-type]
                format="jsonl",
                phi_status="none",
                licence="CC BY 4.0",
                provenance="fixtures/evaluation",
            )
    suite = services.suite_create(
        organization=org,
        name="Default",
        checks=list(checks),
        datasets=list(datasets.values()),
        dataset_checks={str(v.pk): [check] for check, v in datasets.items()},
        parameters=PARAMETERS,
        thresholds=thresholds
        if thresholds is not None
        else ({"knowledge": {"accuracy": {">=": 0.0}}} if "knowledge" in checks else {}),
        drift_tolerance=drift_tolerance or {},
    )
    return EvalSetup(org=org, model=model, version=version, datasets=datasets, suite=suite)


@pytest.fixture
def setup(personas: Any, tiny_model_path: Path, tmp_path: Path) -> EvalSetup:
    return make_setup(personas.org, tiny_model_path, tmp_path)


def quick_suite(org: Organization, **fields: Any) -> EvaluationSuite:
    """A knowledge suite whose dataset is a row only (for tests that never score)."""
    from tests.factories import DatasetVersionFactory

    version = DatasetVersionFactory(dataset__organization=org)
    return services.suite_create(
        organization=org,
        name=fields.pop("name", "Quick"),
        checks=["knowledge"],
        datasets=[version],
        thresholds=fields.pop("thresholds", {"knowledge": {"accuracy": {">=": 0.5}}}),
        drift_tolerance=fields.pop("drift_tolerance", {"knowledge.accuracy": 0.05}),
        **fields,
    )


def finished_run(
    suite: EvaluationSuite,
    version: ModelVersion,
    *,
    accuracy: float,
    trigger: str = "api",
    **fields: Any,
) -> Any:
    """A succeeded run with a knowledge result (accuracy judged against the suite's threshold)."""
    from apps.evaluations.models import CheckResult, EvaluationRun

    run = EvaluationRun.objects.create(
        organization_id=suite.organization_id,
        suite=suite,
        model_version=version,
        status="succeeded",
        trigger=trigger,
        progress=100,
        items_total=10,
        items_done=10,
        **fields,
    )
    bound = suite.thresholds["knowledge"]["accuracy"][">="]
    verdict = "pass" if accuracy >= bound else "fail"
    CheckResult.objects.create(
        run=run,
        check_name="knowledge",
        verdict=verdict,
        metrics=[
            {
                "name": "accuracy",
                "value": accuracy,
                "ci_low": None,
                "ci_high": None,
                "n": 10,
                "unit": "proportion",
                "group": None,
            },
            {
                "name": "accuracy",
                "value": 0.5,
                "ci_low": None,
                "ci_high": None,
                "n": 4,
                "unit": "proportion",
                "group": "cardiology",
            },
        ],
        verdicts=[
            {
                "metric": "accuracy",
                "op": ">=",
                "threshold": bound,
                "value": accuracy,
                "verdict": verdict,
                "reason": "",
            }
        ],
    )
    return run


@pytest.fixture
def knowledge_setup(personas: Any, tiny_model_path: Path, tmp_path: Path) -> EvalSetup:
    """One check, twelve items: for tests about shards rather than checks."""
    return make_setup(personas.org, tiny_model_path, tmp_path, checks=("knowledge",))


# Real worker and beat processes (tests/apps/evaluations/processes.py), on Redis or on the
# embedded default's file broker.


@pytest.fixture(scope="session")
def key_prefix() -> str:
    """This test run's own Redis keys: other runs sharing the database never see its messages."""
    return f"carealign-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def broker(key_prefix: str) -> Iterator[str]:
    """Point this process's Celery app at Redis (not in-process) for the test, then back."""
    import redis

    from governance.celery import app

    client = redis.Redis.from_url(BROKER)

    def clean() -> None:  # only this run's keys: the database may be shared
        for key in client.scan_iter(match=f"{key_prefix}*"):
            client.delete(key)

    clean()
    names = ("broker_url", "result_backend", "task_always_eager")
    names += ("broker_transport_options", "result_backend_transport_options")
    saved = {name: app.conf[name] for name in names}
    app.conf.update(
        broker_url=BROKER,
        result_backend=BROKER,
        task_always_eager=False,
        broker_transport_options={
            **saved["broker_transport_options"],
            "global_keyprefix": key_prefix,
        },
        result_backend_transport_options={
            **saved["result_backend_transport_options"],
            "global_keyprefix": key_prefix,
        },
    )
    drop_connections(app)
    try:
        yield BROKER
    finally:
        drop_connections(app)
        app.conf.update(saved)
        clean()
        client.close()


@pytest.fixture
def celery(broker: str, key_prefix: str, tmp_path: Path) -> Iterator[Celery]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_KEY_PREFIX": key_prefix,
        "CAREALIGN_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "CAREALIGN_LOG_LEVEL": "INFO",
        "CAREALIGN_PROGRESS_INTERVAL": "1",
        "CAREALIGN_SHARD_HEARTBEAT_TIMEOUT": "4",
        "CAREALIGN_SCORING_BATCH_SIZE": "1",
        "CELERY_BROKER_RESTORE_INTERVAL": "1",
    }
    manager = Celery(tmp_path, env)
    try:
        yield manager
    finally:
        manager.stop_all()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Celery]:
    """The embedded default: no CELERY_BROKER_URL, so a broker in local files (under
    CAREALIGN_VAR_DIR) and results in the database, for this process and its workers."""
    from governance.celery import app

    var = tmp_path / "var"
    queue, control = var / "celery" / "queue", var / "celery" / "control"
    for folder in (queue, control):
        folder.mkdir(parents=True)
    names = ("broker_url", "result_backend", "task_always_eager", "broker_transport_options")
    saved = {name: app.conf[name] for name in names}
    app.conf.update(
        broker_url="filesystem://",
        result_backend="django-db",
        task_always_eager=False,
        broker_transport_options={
            **saved["broker_transport_options"],
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(control),
        },
    )
    drop_connections(app)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_BROKER", "CELERY_RESULT", "CELERY_KEY"))
    }
    env.update(
        DATABASE_URL=database_url(),
        CAREALIGN_VAR_DIR=str(var),
        CAREALIGN_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
    )
    manager = Celery(tmp_path, env)
    try:
        yield manager
    finally:
        manager.stop_all()
        drop_connections(app)
        app.conf.update(saved)
