"""Benchmark: the engine CLI's peak memory at 1,000 and at 10,000 items.

Runs `python -m worker.engine evaluate --check knowledge` in a fresh process per size, on the
same MedQA-style items as `bench/vs_lmeval.py` (5 options, about 230 tokens scored per item)
and the tiny locally built GPT-2 (so a run takes a minute, not hours), and prints each run's
peak resident memory (the kernel's `ru_maxrss`) and the growth per item. The goal is a peak
bounded by the batch, not by the dataset: at 10,000 items within 10 % of the peak at 1,000.

    .venv/bin/python bench/memory.py                       # 1,000 and 10,000 items
    .venv/bin/python bench/memory.py --sizes 1000 20000

Not a test: nothing here asserts; the goal is printed next to the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workload import make_records, write_jsonl  # noqa: E402

WORK = ROOT / "var" / "bench"
# One torch thread: the tiny model gains nothing from more, and on a shared CPU they spin.
_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}

# Runs the real CLI, then writes its own peak resident set (KiB on Linux) for the parent.
_PROBE = """
import resource, sys
from worker.engine.__main__ import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as handle:
    handle.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def peak_rss(model: Path, dataset: Path, out: Path) -> tuple[float, float]:
    """Run the CLI on `dataset`; return its peak RSS in MiB and its wall seconds."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "maxrss"
        args = ["evaluate", "--model", str(model), "--dataset", str(dataset)]
        args += ["--check", "knowledge", "--out", str(out)]
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(report), *args],
            env={**os.environ, **_ENV, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"engine CLI failed:\n{done.stderr[-3000:]}")
        return int(report.read_text()) / 1024, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from worker.engine.tiny import make_tiny_model

    model = WORK / "tiny"
    if not (model / "config.json").is_file():
        make_tiny_model(model, seed=args.seed)
    peaks = []
    for n in args.sizes:
        dataset = write_jsonl(WORK / f"medqa-{n}.jsonl", make_records(n, args.seed))
        peak, seconds = peak_rss(model, dataset, WORK / f"memory-out-{n}.json")
        peaks.append((n, peak))
        print(f"items {n:>7,}  peak RSS {peak:8.1f} MiB  ({seconds:.1f} s)")
    (n0, p0), (n1, p1) = peaks[0], peaks[-1]
    print(
        f"growth     {p1 / p0 - 1:+.1%} from {n0:,} to {n1:,} items (goal within 10 %); "
        f"{(p1 - p0) * 1024 / max(1, n1 - n0):.1f} KiB per extra item"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
