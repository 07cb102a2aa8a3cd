"""Benchmark: the engine's CLI head to head with lm-evaluation-harness's HFLM.

Both score the same 86M-parameter GPT-2-shaped model (random weights, built locally) on the
same MedQA-style items (`bench/workload.py`). The engine runs as a user runs it, the whole
CLI (`python -m worker.engine evaluate --check knowledge`), timed from the process start;
lm-eval's `HFLM.loglikelihood` then scores exactly the context/continuation strings of the
engine's per-item records, timed around that call alone (its imports and model load are
not counted). Printed: wall time, tokens fed to the model, tokens/s, the speed ratio, the
largest |delta log-likelihood| and whether the chosen options agree, next to the ratio of
tokens fed (the ideal ratio: the engine encodes each question once, lm-eval once per option).
Also: the 1-item CLI run's start-up (process start to its first batch), and a warm worker
scoring consecutive shards with the model loaded once.

lm-eval is never installed into the project's environment: on first use this creates its own
virtual environment under var/bench-lmeval-venv (`pip install torch==<ours> lm_eval[hf]`).

    .venv/bin/python bench/vs_lmeval.py                  # 100 items, 2-core CPU: a few minutes
    .venv/bin/python bench/vs_lmeval.py --items 20 --skip-lmeval

Not a test: nothing here asserts; the goals are printed next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workload import ensure_model, make_records, write_jsonl  # noqa: E402

VENV = ROOT / "var" / "bench-lmeval-venv"
WORK = ROOT / "var" / "bench"

# Runs the real CLI; only notes the wall-clock and CPU times when the first batch starts
# and when the last one ends (the scoring window, without start-up and the checks).
_PROBE = """
import os, sys, time
import worker.engine.scoring as scoring
mark, original = os.environ["BENCH_FIRST_BATCH"], scoring.Scorer._score_batch
first = []
def timed(self, batch):
    if not first:
        first.append(f"{time.time()!r} {time.process_time()!r}")
    out = original(self, batch)
    with open(mark, "w") as handle:
        handle.write(f"{first[0]} {time.time()!r} {time.process_time()!r}")
    return out
scoring.Scorer._score_batch = timed
from worker.engine.__main__ import main
sys.exit(main(sys.argv[1:]))
"""

# Runs inside lm-eval's own environment: JSON in (argv[1]), JSON out (stdout's last line).
_LMEVAL = """
import json, sys, time
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
spec = json.load(open(sys.argv[1]))
lm = HFLM(pretrained=spec["model"], backend="causal", device=spec["device"],
          dtype=spec["dtype"], batch_size=spec["batch_size"])
pairs = [tuple(p) for p in spec["pairs"]]
requests = [Instance(request_type="loglikelihood", doc={}, arguments=p, idx=i)
            for i, p in enumerate(pairs)]
lm.loglikelihood(requests[:2], disable_tqdm=True)  # warm-up
import torch
sync = torch.cuda.synchronize if spec["device"].startswith("cuda") else (lambda: None)
sync()
start, cpu = time.perf_counter(), time.process_time()
out = lm.loglikelihood(requests, disable_tqdm=True)
sync()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
# What lm-eval feeds per request: (context + continuation)[-(max_length + 1):][:-1].
tokens = sum(min(len(c) + len(x), lm.max_length + 1) - 1
             for c, x in (lm._encode_pair(*p) for p in pairs))
import lm_eval, torch, transformers
print(json.dumps({"seconds": seconds, "cpu": cpu, "tokens": tokens,
                  "logprobs": [lp for lp, _ in out],
                  "versions": {"lm_eval": lm_eval.__version__, "torch": torch.__version__,
                               "transformers": transformers.__version__},
                  "threads": torch.get_num_threads()}))
"""


THREADS: dict[str, str] = {}


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **THREADS)
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_cli(model: Path, dataset: Path, out: Path, batch_size: str) -> dict[str, Any]:
    """Run the engine's CLI in a fresh process; return wall and start-up seconds and results."""
    with tempfile.TemporaryDirectory() as folder:
        mark = Path(folder) / "first-batch"
        args = ["evaluate", "--model", str(model), "--dataset", str(dataset)]
        args += ["--check", "knowledge", "--batch-size", batch_size, "--out", str(out)]
        cpu0 = _children_cpu()
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, *args],
            env={**_env(), "BENCH_FIRST_BATCH": str(mark)},
            capture_output=True,
            text=True,
            check=False,
        )
        wall, cpu = time.time() - started, _children_cpu() - cpu0
        if done.returncode != 0:
            raise SystemExit(f"engine CLI failed:\n{done.stderr[-3000:]}")
        first_wall, first_cpu, last_wall, last_cpu = (float(x) for x in mark.read_text().split())
    result = json.loads(out.read_text(encoding="utf-8"))
    return {
        "wall": wall,
        "cpu": cpu,
        "startup": first_wall - started,
        "startup_cpu": first_cpu,
        "scoring": last_wall - first_wall,
        "scoring_cpu": last_cpu - first_cpu,
        "result": result,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lmeval_python() -> Path:
    """The Python of lm-eval's own environment, created and installed on first use."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import lm_eval.models.huggingface"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    import torch

    print(f"creating {VENV} and installing lm_eval (first use only) ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True, system_site_packages=False).create(VENV)
    torch_pin = f"torch=={torch.__version__.split('+')[0]}"
    for packages in ([torch_pin], ["lm_eval[hf]", torch_pin]):
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


def run_lmeval(
    model: Path,
    pairs: Sequence[tuple[str, str]],
    batch_size: int,
    *,
    device: str = "cpu",
    dtype: str = "float32",
) -> dict[str, Any]:
    """Score `pairs` with HFLM.loglikelihood in lm-eval's environment; time that call alone."""
    python = lmeval_python()
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "model": str(model),
                    "pairs": pairs,
                    "batch_size": batch_size,
                    "device": device,
                    "dtype": dtype,
                }
            )
        )
        done = subprocess.run(
            [str(python), "-c", _LMEVAL, str(spec)],
            env=_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"lm-eval failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def warm_worker(
    model: Path, records: Sequence[dict[str, Any]], shards: int
) -> list[tuple[int, int, float, float]]:
    """Score `shards` consecutive shards in this process, as one platform worker does."""
    from worker.engine.loading import ModelSpec, load_model
    from worker.engine.runner import score_units, unit_key
    from worker.engine.scoring import Scorer
    from worker.engine.types import Item

    items = [Item.from_dict({**r, "gold": tuple(r["gold"])}) for r in records]
    size = max(1, len(items) // shards)
    timings = []
    for shard in range(shards):
        part = items[shard * size : (shard + 1) * size]
        start = time.perf_counter()
        loaded = load_model(ModelSpec(str(model)))
        loaded_at = time.perf_counter()
        units = {unit_key(item, "continuation", {}, "knowledge"): item for item in part}
        score_units(Scorer(loaded), units)
        timings.append((shard + 1, len(part), loaded_at - start, time.perf_counter() - loaded_at))
    return timings


def _pairs(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (record["context"], option["continuation"])
        for record in result["items"]
        for option in record["options"]
    ]


def _compare(result: dict[str, Any], logprobs: Sequence[float]) -> tuple[float, bool]:
    """Largest |delta| over every option, and whether every item's choice is the same."""
    delta, same, cursor = 0.0, True, 0
    for record in result["items"]:
        options = record["options"]
        theirs = logprobs[cursor : cursor + len(options)]
        cursor += len(options)
        delta = max(
            [delta, *(abs(o["logprob"] - lp) for o, lp in zip(options, theirs, strict=True))]
        )
        # The first of equal maxima, like np.argmax and the engine's max().
        best = max(range(len(theirs)), key=lambda k: (theirs[k], -k))
        same = same and options[best]["letter"] == record["chosen"]
    return delta, same


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", default="auto", help="the engine's --batch-size")
    parser.add_argument("--lmeval-batch-size", type=int, default=8)
    parser.add_argument("--skip-lmeval", action="store_true")
    parser.add_argument("--shards", type=int, default=3, help="warm-worker shards (0: skip)")
    parser.add_argument("--threads", type=int, help="torch threads of both tools (OMP_NUM_THREADS)")
    args = parser.parse_args(argv)
    if args.threads:
        THREADS["OMP_NUM_THREADS"] = str(args.threads)
        import torch

        torch.set_num_threads(args.threads)

    model = ensure_model(WORK / "gpt2-86m", seed=args.seed)
    records = make_records(args.items, args.seed)
    dataset = write_jsonl(WORK / f"medqa-{args.items}.jsonl", records)
    one = write_jsonl(WORK / "medqa-1.jsonl", records[:1])

    small = run_cli(model, one, WORK / "out-1.json", args.batch_size)
    run = run_cli(model, dataset, WORK / f"out-{args.items}.json", args.batch_size)
    scoring = run["result"]["manifest"]["scoring"]
    tokens = scoring["tokens"]
    # The scoring window: from the first batch's start to the last batch's end.
    eng_wall, eng_cpu = run["scoring"], run["scoring_cpu"]
    print(f"workload   {args.items} MedQA-style items, 5 options; GPT-2 shape 86M, CPU fp32")
    print(
        f"start-up   1-item CLI run: first batch after {small['startup']:.2f} s wall, "
        f"{small['startup_cpu']:.2f} s CPU (goal < 2 s); whole run {small['wall']:.2f} s"
    )
    print(
        f"engine     CLI {run['wall']:.2f} s wall, {run['cpu']:.2f} s CPU in all (start-up "
        f"{run['startup']:.2f} s wall, {run['startup_cpu']:.2f} s CPU); {tokens} tokens fed "
        f"(+{scoring['pad_tokens']} padding): {tokens / eng_wall:.0f} tokens/s wall, "
        f"{tokens / eng_cpu:.0f} per CPU-second while scoring"
    )
    if not args.skip_lmeval:
        theirs = run_lmeval(model, _pairs(run["result"]), args.lmeval_batch_size)
        delta, same = _compare(run["result"], theirs["logprobs"])
        lm_tokens = theirs["tokens"]
        print(
            f"lm-eval    HFLM.loglikelihood {theirs['seconds']:.2f} s wall, {theirs['cpu']:.2f} s "
            f"CPU (batch size {args.lmeval_batch_size}, {theirs['threads']} threads, lm_eval "
            f"{theirs['versions']['lm_eval']}); {lm_tokens} tokens fed: "
            f"{lm_tokens / theirs['seconds']:.0f} tokens/s wall, "
            f"{lm_tokens / theirs['cpu']:.0f} per CPU-second"
        )
        print(
            f"ratio      end to end {theirs['seconds'] / run['wall']:.2f}x wall, "
            f"{theirs['cpu'] / run['cpu']:.2f}x CPU (goal >= 3.5x); ideal (tokens fed) "
            f"{lm_tokens / tokens:.2f}x; per token "
            f"{(tokens / eng_wall) / (lm_tokens / theirs['seconds']):.2f}x lm-eval's speed "
            f"wall, {(tokens / eng_cpu) / (lm_tokens / theirs['cpu']):.2f}x CPU"
        )
        print(f"agreement  max |delta log-likelihood| {delta:.2g}; identical choices: {same}")
    if args.shards:
        for shard, n, load_s, score_s in warm_worker(model, records, args.shards):
            print(
                f"worker     shard {shard}: {n} items, model load {load_s:.3f} s, "
                f"scoring {score_s:.2f} s (one process: the model is loaded once)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
