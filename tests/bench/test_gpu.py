"""bench/gpu.py runs end to end on CPU with a tiny model (on a GPU it runs a 0.5-1.5B one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import gpu
from bench.workload import make_records
from worker.engine.loading import ModelSpec, load_model
from worker.engine.scoring import encode_requests
from worker.engine.types import Item


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


def test_gpu_bench_scores_every_item_and_reports_its_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out = tmp_path / "model", tmp_path / "figures.json"
    argv = ["--size", "tiny", "--arch", "llama", "--device", "cpu", "--dtype", "fp32"]
    argv += ["--items", "6", "--model-dir", str(folder), "--json", str(out)]
    assert gpu.main(argv) == 0

    figures = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "items/s" in printed and "tokens/s" in printed and "MFU n/a" in printed
    assert figures["items"] == 6 and figures["dtype"] == "fp32"
    # The model was built from config and saved as an ordinary folder the engine loads.
    loaded = load_model(ModelSpec(str(folder)))
    assert loaded.model.config.num_hidden_layers == gpu.TINY["num_hidden_layers"]
    items = [Item.from_dict({**r, "gold": tuple(r["gold"])}) for r in make_records(6)]
    fed = sum(r.packed_len for r in encode_requests(loaded, items, "continuation"))
    engine = figures["engine"]
    assert engine["tokens"] == fed
    assert engine["tokens_per_s"] == pytest.approx(fed / engine["seconds"])
    assert engine["items_per_s"] == pytest.approx(6 / engine["seconds"])
    assert engine["mfu"] is None  # no bf16 peak is known for a CPU


def test_mfu_uses_the_named_device_peak() -> None:
    name, peak = gpu.device_peak("cpu", 1e12)
    assert peak == 1e12 and name
    assert gpu.device_peak("cpu", None)[1] is None
