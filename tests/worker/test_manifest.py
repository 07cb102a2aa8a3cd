"""The reproducibility manifest records everything needed to rerun an evaluation."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from worker.engine.loading import LoadedModel
from worker.engine.manifest import RunClock, build_manifest


def test_manifest_records_model_data_versions_device_and_time(
    tiny: LoadedModel, tmp_path: Path
) -> None:
    dataset = tmp_path / "items.jsonl"
    dataset.write_text('{"id": "x"}\n')
    clock = RunClock()
    clock.stop()
    manifest = build_manifest(
        loaded=tiny,
        clock=clock,
        checks=["knowledge"],
        check_config={"knowledge": {"mode": "letter"}},
        seed=7,
        batch_size="auto",
        dataset_paths=[dataset],
    )
    assert manifest["model"]["source"] == tiny.spec.source
    assert manifest["model"]["revision"] is None
    assert manifest["model"]["weights_digest"] == tiny.weights_digest
    assert manifest["datasets"] == [
        {
            "path": str(dataset),
            "name": "items.jsonl",
            "sha256": hashlib.sha256(dataset.read_bytes()).hexdigest(),
        }
    ]
    assert manifest["checks"] == ["knowledge"]
    assert manifest["check_config"] == {"knowledge": {"mode": "letter"}}
    assert manifest["seed"] == 7
    versions = manifest["versions"]
    for name in ("python", "torch", "transformers", "evaluate"):
        assert versions[name]
    device = manifest["device"]
    assert (device["device"], device["dtype"], device["gpus"]) == ("cpu", "float32", 0)
    assert device["name"]
    started = datetime.fromisoformat(manifest["started_at"])
    ended = datetime.fromisoformat(manifest["ended_at"])
    assert started.utcoffset() is not None and started <= ended
    assert manifest["gpu_seconds"] == 0
    assert manifest["cpu_seconds"] >= 0 and manifest["wall_seconds"] >= 0
