"""Fixtures (a pytest plugin, registered in tests/conftest.py): the engine's tiny model for
the platform's tests, and real Celery worker and beat processes (tests/builders/processes.py),
on Redis or on the embedded default's file broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.builders.processes import BROKER, Celery, database_url, drop_connections


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
