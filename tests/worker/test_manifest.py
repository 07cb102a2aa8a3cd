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
            "path": str(dataset.resolve()),
            "name": "items.jsonl",
            "sha256": hashlib.sha256(dataset.read_bytes()).hexdigest(),
            "format": None,
            "language": None,
            "checks": None,
        }
    ]
    engine = manifest["engine"]
    assert len(engine["source_sha256"]) == 64 and engine["package"]
    assert manifest["device"]["attention_implementation"]
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


def test_a_folder_dataset_digest_covers_every_file_and_its_name(tmp_path: Path) -> None:
    from worker.engine.manifest import file_digest

    folder = tmp_path / "saved"
    (folder / "part").mkdir(parents=True)
    (folder / "part" / "data.arrow").write_bytes(b"rows")
    (folder / "state.json").write_text("{}")
    first = file_digest(folder)
    assert first == file_digest(folder) and len(first) == 64
    (folder / "state.json").write_text('{"x": 1}')
    assert file_digest(folder) != first
    (folder / "state.json").write_text("{}")
    (folder / "state.json").rename(folder / "other.json")
    assert file_digest(folder) != first
