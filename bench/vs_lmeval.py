"""Benchmark: the engine's CLI head to head with lm-evaluation-harness's HFLM.

Both score the same 86M-parameter GPT-2-shaped model (random weights, built locally) on the
same MedQA-style items (`bench/workload.py`) with the same torch threads (`--threads`, 1 by
default). The engine runs as a user runs it, the whole CLI (`python -m worker.engine
evaluate --check knowledge`), timed from the process start; lm-eval's `HFLM.loglikelihood`
scores exactly the context/continuation strings of the engine's per-item records, timed
around the calls alone; its start-up (imports, model load) is printed beside. The two are
interleaved: `--rounds` engine runs, each followed by lm-eval scoring its share of the items,
so that on a shared machine both meet the same load (each tool's share of a core, CPU/wall,
is printed). Printed: wall and CPU time, tokens fed to the model, tokens/s, the ratios, the
largest |delta log-likelihood| and whether the chosen options agree, next to the ratio of
tokens fed (the ideal ratio: the engine encodes each question once, lm-eval once per option).
Also: a 1-item CLI run's start-up (process start to its first batch, wall and CPU), and a
platform worker in a fresh process: the libraries its main process imports before forking,
then consecutive shards, each timed to its first batch, with the model loaded once.

lm-eval is never installed into the project's environment: on first use this creates its own
virtual environment under var/bench-lmeval-venv (`pip install torch==<ours> lm_eval[hf]`).

    .venv/bin/python bench/vs_lmeval.py        # 100 items; 2-core CPU: about 6 CPU-minutes
    .venv/bin/python bench/vs_lmeval.py --items 20 --skip-lmeval

Not a test: nothing here asserts; the goals are printed next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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

# Runs inside lm-eval's own environment as a server: the spec as JSON on stdin's first line,
# then one JSON list of [context, continuation] pairs per line; answers one JSON line each.
# Its imports, model load and a warm-up happen before "ready", outside every timing.
_LMEVAL = """
import json, sys, time
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
import lm_eval, torch, transformers
out = sys.stdout
sys.stdout = sys.stderr  # only the JSON answers go to the real stdout
spec = json.loads(sys.stdin.readline())
lm = HFLM(pretrained=spec["model"], backend="causal", device=spec["device"],
          dtype=spec["dtype"], batch_size=spec["batch_size"])
sync = torch.cuda.synchronize if spec["device"].startswith("cuda") else (lambda: None)
def score(pairs):
    requests = [Instance(request_type="loglikelihood", doc={}, arguments=p, idx=i)
                for i, p in enumerate(pairs)]
    return lm.loglikelihood(requests, disable_tqdm=True)
score([tuple(p) for p in spec["warmup"]])
def answer(data):
    out.write(json.dumps(data) + "\\n")
    out.flush()
answer({"ready": True, "threads": torch.get_num_threads(), "startup_cpu": time.process_time(),
        "versions": {"lm_eval": lm_eval.__version__, "torch": torch.__version__,
                     "transformers": transformers.__version__}})
for line in sys.stdin:
    pairs = [tuple(p) for p in json.loads(line)]
    sync()
    start, cpu = time.perf_counter(), time.process_time()
    logprobs = [lp for lp, _ in score(pairs)]
    sync()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # What lm-eval feeds per request: (context + continuation)[-(max_length + 1):][:-1].
    tokens = sum(min(len(c) + len(x), lm.max_length + 1) - 1
                 for c, x in (lm._encode_pair(*p) for p in pairs))
    answer({"seconds": seconds, "cpu": cpu, "tokens": tokens, "logprobs": logprobs})
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
    # Our exact build where an index has it (2.13.0+cpu, not PyPI's 2.13.0 with CUDA
    # libraries), else the same version as PyPI publishes it.
    pins = dict.fromkeys(
        [f"torch=={torch.__version__}", f"torch=={torch.__version__.split('+')[0]}"]
    )
    pip = [str(python), "-m", "pip", "install", "-q"]
    torch_pin = next(
        (p for p in pins if subprocess.run([*pip, p], check=False).returncode == 0), None
    )
    if torch_pin is None:
        raise SystemExit(f"cannot install {' or '.join(pins)} into {VENV}")
    subprocess.run([*pip, "lm_eval[hf]", torch_pin], check=True)
    return python


class LmEval:
    """lm-eval's HFLM in its own environment, loaded once; `score` times one call alone.

    A server process, so that its scoring can be interleaved with the engine's runs: both
    tools then meet the same load on a shared machine.
    """

    def __init__(
        self, model: Path, batch_size: int, *, device: str = "cpu", dtype: str = "float32"
    ) -> None:
        started = time.time()
        self._errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in close())
        self._process = subprocess.Popen(
            [str(lmeval_python()), "-c", _LMEVAL],
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
        )
        warmup = [("A 45-year-old man has chest pain.", " Aspirin"), ("He is well.", " No")]
        spec = {"model": str(model), "batch_size": batch_size, "device": device}
        self.info = self._ask({**spec, "dtype": dtype, "warmup": warmup})
        # Its start-up: imports, model load and the two-pair warm-up.
        self.info["startup"] = time.time() - started

    def _ask(self, data: Any) -> dict[str, Any]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(data) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            self._errors.seek(0)
            raise SystemExit(f"lm-eval failed:\n{self._errors.read()[-3000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def score(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """{seconds, cpu, tokens, logprobs} of one `HFLM.loglikelihood` call on `pairs`."""
        return self._ask([list(p) for p in pairs])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=60)
        self._errors.close()


def run_lmeval(
    model: Path,
    pairs: Sequence[tuple[str, str]],
    batch_size: int,
    *,
    device: str = "cpu",
    dtype: str = "float32",
) -> dict[str, Any]:
    """Score `pairs` with HFLM.loglikelihood in lm-eval's environment; time that call alone."""
    lm = LmEval(model, batch_size, device=device, dtype=dtype)
    try:
        return {**lm.info, **lm.score(pairs)}
    finally:
        lm.close()


# A platform worker as it runs shards, in a fresh process: first what its main process imports
# before forking its pool (tasks._import_libraries: CAREALIGN_WORKER_PRELOAD), then shard after
# shard through `load_model` (cached per process), each timed to its first batch.
_WORKER = """
import importlib, json, sys, time
started = time.perf_counter()
for module in ("torch", "transformers", "transformers.modeling_utils"):
    importlib.import_module(module)
preload = time.perf_counter() - started
import worker.engine.scoring as scoring
from worker.engine.loading import ModelSpec, load_model
from worker.engine.runner import score_units, unit_key
from worker.engine.types import Item
first, original = [], scoring.Scorer._score_batch
def timed(self, batch):
    if not first:
        first.append(time.perf_counter())
    return original(self, batch)
scoring.Scorer._score_batch = timed
spec = json.loads(sys.stdin.read())
items = [Item.from_dict({**r, "gold": tuple(r["gold"])}) for r in spec["records"]]
print(json.dumps({"preload": preload}), flush=True)
size = spec["size"]
for shard in range(spec["shards"]):
    part = items[shard * size : (shard + 1) * size]
    first.clear()
    start = time.perf_counter()
    loaded = load_model(ModelSpec(spec["model"]))
    loaded_at = time.perf_counter()
    units = {unit_key(item, "continuation", {}, "knowledge"): item for item in part}
    score_units(scoring.Scorer(loaded), units)
    print(json.dumps({"shard": shard + 1, "items": len(part), "load": loaded_at - start,
                      "first_batch": first[0] - start, "scoring": time.perf_counter() - loaded_at}),
          flush=True)
"""


def warm_worker(
    model: Path, records: Sequence[dict[str, Any]], shards: int, size: int
) -> tuple[float, list[dict[str, Any]]]:
    """Score `shards` consecutive shards of `size` items in one fresh process, as one platform
    worker does; returns its preload seconds and each shard's timings."""
    spec = {"model": str(model), "records": list(records), "shards": shards, "size": size}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER],
        input=json.dumps(spec),
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"warm worker failed:\n{done.stderr[-3000:]}")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return float(lines[0]["preload"]), lines[1:]


def _pairs(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (record["context"], option["continuation"])
        for record in result["items"]
        for option in record["options"]
    ]


def _compare(
    result: dict[str, Any], logprobs: Sequence[float], normalization: str = "none"
) -> tuple[float, bool]:
    """Largest |delta| over every option, and whether every item's choice is the same when
    lm-eval's log-likelihoods are normalised as the engine's run was (byte: lm-eval's
    acc_bytes; token; none: the plain sum)."""
    size = {"byte": "n_bytes", "token": "n_tokens"}.get(normalization)
    delta, same, cursor = 0.0, True, 0
    for record in result["items"]:
        options = record["options"]
        theirs = logprobs[cursor : cursor + len(options)]
        cursor += len(options)
        delta = max(
            [delta, *(abs(o["logprob"] - lp) for o, lp in zip(options, theirs, strict=True))]
        )
        scores = [lp / o[size] if size else lp for o, lp in zip(options, theirs, strict=True)]
        # The first of equal maxima, like np.argmax and the engine's max().
        best = max(range(len(scores)), key=lambda k: (scores[k], -k))
        same = same and options[best]["letter"] == record["chosen"]
    return delta, same


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--varied-options",
        action="store_true",
        help="options recur across items about as in real data, not from 16 texts",
    )
    parser.add_argument("--batch-size", default="auto", help="the engine's --batch-size")
    parser.add_argument("--lmeval-batch-size", type=int, default=8)
    parser.add_argument("--skip-lmeval", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="engine runs, lm-eval between")
    parser.add_argument("--startup-runs", type=int, default=3, help="1-item CLI runs")
    parser.add_argument("--shards", type=int, default=3, help="warm-worker shards (0: skip)")
    parser.add_argument("--shard-items", type=int, default=10, help="items per shard")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of both tools")
    return parser


def _print_startup(runs: Sequence[dict[str, Any]]) -> None:
    walls = sorted(r["startup"] for r in runs)
    cpus = sorted(r["startup_cpu"] for r in runs)
    print(
        f"start-up   1-item CLI run, process start to first batch ({len(runs)} runs): "
        f"{walls[0]:.2f} s wall at best, {statistics.median(walls):.2f} median; "
        f"{cpus[0]:.2f} s CPU at best, {statistics.median(cpus):.2f} median (goal < 2 s); "
        f"whole run {statistics.median(r['wall'] for r in runs):.2f} s wall"
    )


def _interleaved(
    args: argparse.Namespace, model: Path, dataset: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """`rounds` engine CLI runs, each followed by lm-eval scoring its share of the same
    strings: both tools meet the same load, whatever the rest of the machine does."""
    lm = None if args.skip_lmeval else LmEval(model, args.lmeval_batch_size)
    runs: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    try:
        for round_ in range(args.rounds):
            out = WORK / f"out-{args.items}-{round_}.json"
            runs.append(run_cli(model, dataset, out, args.batch_size))
            note = (
                f"round {round_ + 1}: engine {runs[-1]['wall']:.1f} s, {runs[-1]['cpu']:.1f} s CPU"
            )
            if lm is not None:
                records = runs[0]["result"]["items"]
                share = records[round_ :: args.rounds]
                parts.append(lm.score(_pairs({"items": share})))
                parts[-1]["items"] = share
                note += f"; lm-eval {parts[-1]['seconds']:.1f} s, {parts[-1]['cpu']:.1f} s CPU"
            print(f"{note} (load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    finally:
        if lm is not None:
            lm.close()
    return runs, parts, ({} if lm is None else lm.info)


def _print_engine(runs: Sequence[dict[str, Any]]) -> tuple[float, float]:
    scoring = runs[0]["result"]["manifest"]["scoring"]
    tokens = scoring["tokens"]
    wall = statistics.mean(r["wall"] for r in runs)
    cpu = statistics.mean(r["cpu"] for r in runs)
    window = statistics.mean(r["scoring"] for r in runs)
    window_cpu = statistics.mean(r["scoring_cpu"] for r in runs)
    same = all(r["result"]["items"] == runs[0]["result"]["items"] for r in runs)
    threads = runs[0]["result"]["manifest"]["device"]["torch_threads"]
    print(
        f"engine     CLI {wall:.2f} s wall, {cpu:.2f} s CPU per run (mean of {len(runs)}; "
        f"{cpu / wall:.0%} of a core; start-up {runs[0]['startup']:.2f} s wall); "
        f"{threads} torch thread(s); {tokens} tokens fed (+{scoring['pad_tokens']} padding): "
        f"{tokens / window:.0f} tokens/s wall, {tokens / window_cpu:.0f} per CPU-second "
        f"while scoring; runs bit-identical: {same}"
    )
    return wall, cpu


def _print_lmeval(
    args: argparse.Namespace, info: dict[str, Any], parts: Sequence[dict[str, Any]]
) -> tuple[float, float, int]:
    wall = sum(p["seconds"] for p in parts)
    cpu = sum(p["cpu"] for p in parts)
    tokens = sum(p["tokens"] for p in parts)
    print(
        f"lm-eval    HFLM.loglikelihood {wall:.2f} s wall, {cpu:.2f} s CPU ({len(parts)} calls; "
        f"{cpu / wall:.0%} of a core); batch size {args.lmeval_batch_size}, {info['threads']} "
        f"torch thread(s), lm_eval {info['versions']['lm_eval']}; {tokens} tokens fed: "
        f"{tokens / wall:.0f} tokens/s wall, {tokens / cpu:.0f} per CPU-second"
    )
    return wall, cpu, tokens


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    THREADS["OMP_NUM_THREADS"] = str(args.threads)
    model = ensure_model(WORK / "gpt2-86m", seed=args.seed)
    records = make_records(args.items, args.seed, varied=args.varied_options)
    kind = "varied" if args.varied_options else "pooled"
    dataset = write_jsonl(WORK / f"medqa-{args.items}-{kind}.jsonl", records)
    one = write_jsonl(WORK / "medqa-1.jsonl", records[:1])
    load = os.getloadavg()[0]
    texts = [text for record in records for text in record["options"].values()]
    print(
        f"workload   {args.items} MedQA-style items, 5 options ({len(set(texts))} distinct "
        f"option texts of {len(texts)}); GPT-2 shape 86M, CPU fp32"
    )
    startups = [
        run_cli(model, one, WORK / "out-1.json", args.batch_size) for _ in range(args.startup_runs)
    ]
    if startups:
        _print_startup(startups)
    runs, parts, info = _interleaved(args, model, dataset)
    eng_wall, eng_cpu = _print_engine(runs)
    if parts:
        lm_wall, lm_cpu, lm_tokens = _print_lmeval(args, info, parts)
        tokens = runs[0]["result"]["manifest"]["scoring"]["tokens"]
        up, up_cpu = info["startup"], info["startup_cpu"]
        print(
            f"ratio      end to end {lm_wall / eng_wall:.2f}x wall, {lm_cpu / eng_cpu:.2f}x CPU "
            f"(goal >= 3.5x; the engine's whole CLI run against lm-eval's scoring calls "
            f"alone); with lm-eval's start-up too ({up:.2f} s wall, {up_cpu:.2f} s CPU: "
            f"imports, model load) {(lm_wall + up) / eng_wall:.2f}x wall, "
            f"{(lm_cpu + up_cpu) / eng_cpu:.2f}x CPU; ideal (tokens fed) "
            f"{lm_tokens / tokens:.2f}x"
        )
        delta, same = 0.0, True
        config = runs[0]["result"]["manifest"]["effective_config"]["knowledge"]
        for part in parts:
            d, s = _compare({"items": part["items"]}, part["logprobs"], config["normalization"])
            delta, same = max(delta, d), same and s
        print(f"agreement  max |delta log-likelihood| {delta:.2g}; identical choices: {same}")
    if args.shards:
        preload, shards = warm_worker(model, records, args.shards, args.shard_items)
        print(
            f"worker     start: torch, transformers and its modelling code imported before the "
            f"pool forks (CAREALIGN_WORKER_PRELOAD), once per worker: {preload:.2f} s"
        )
        for shard in shards:
            print(
                f"worker     shard {shard['shard']}: {shard['items']} items, model load "
                f"{shard['load']:.3f} s, first batch after {shard['first_batch']:.2f} s, "
                f"scoring {shard['scoring']:.2f} s (one process: the model is loaded once)"
            )
    print(f"machine    load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
