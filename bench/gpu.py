"""Benchmark: the engine on a GPU in bf16, beside lm-evaluation-harness's HFLM on the same device.

Builds a 0.5-1.5B model of a published shape from its config (random weights, nothing from
the hub) with the tiny locally trained tokenizer, saves it as an ordinary `save_pretrained`
folder, loads it back through the engine's own loading code, and scores MedQA-style items
(`bench/workload.py`). Prints items/s, tokens/s and model FLOPs utilisation: 2 x non-embedding
parameters x tokens fed per second, as a share of the device's dense bf16 peak. With lm-eval's
environment present (`bench/vs_lmeval.py` creates it) HFLM's `loglikelihood` scores the same
context/continuation strings on the same device, and the agreement of the choices is printed.

    python bench/gpu.py --arch qwen2 --size 0.5b               # on a CUDA machine
    python bench/gpu.py --arch qwen2 --size 1.5b --items 1000 --lmeval
    python bench/gpu.py --size tiny --device cpu --dtype fp32  # what the test suite runs

Not a test: nothing here asserts; the figures are printed (and written with --json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.engine import SHAPES  # noqa: E402
from bench.workload import make_records  # noqa: E402

WORK = ROOT / "var" / "bench"
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 1024,
    "tie_word_embeddings": True,
}
# Dense bf16 peaks (no sparsity), from the vendors' data sheets; match on the device name.
PEAK_BF16 = (
    ("H200", 989.4e12),
    ("H100 PCIe", 756.0e12),
    ("H100", 989.4e12),
    ("A100", 312.0e12),
    ("L40S", 362.1e12),
    ("L4", 121.0e12),
    ("A10", 125.0e12),
)


def build_model(arch: str, size: str, folder: Path, seed: int = 0) -> Path:
    """Write a random model of the published shape and the tiny tokenizer to `folder` once."""
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    from worker.engine.tiny import train_tokenizer

    tokenizer = train_tokenizer()
    shape = TINY if size == "tiny" else SHAPES[(arch, size)]
    config_cls = LlamaConfig if arch == "llama" else Qwen2Config
    config = config_cls(
        **shape,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    # transformers leaves from_config unannotated; bf16 halves the folder of a 1.5B model.
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)  # type: ignore[no-untyped-call]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def device_peak(device: str, given: float | None) -> tuple[str, float | None]:
    """The device's name and dense bf16 peak FLOP/s (None when unknown: give --peak-flops)."""
    from worker.engine.manifest import device_name

    name = device_name(device)
    if given:
        return name, given
    if not device.startswith("cuda"):
        return name, None
    return name, next((peak for key, peak in PEAK_BF16 if key in name), None)


def run_engine(
    folder: Path, items: list[Any], dtype: str, device: str, batch: str
) -> dict[str, Any]:
    import torch

    from worker.engine.loading import ModelSpec, load_model
    from worker.engine.scoring import BatchSize, Scorer

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    started = time.perf_counter()
    loaded = load_model(ModelSpec(str(folder), dtype=DTYPES[dtype], device=device))
    load_s = time.perf_counter() - started
    batch_size: BatchSize = "auto" if batch == "auto" else int(batch)
    Scorer(loaded, batch_size=batch_size).score_items(items[:4])  # warm-up: kernels, allocator
    sync()
    scorer = Scorer(loaded, batch_size=batch_size)
    started = time.perf_counter()
    scores = scorer.score_items(items)
    sync()
    seconds = time.perf_counter() - started
    model: Any = loaded.model
    embed = model.get_input_embeddings().weight.numel()
    head = model.get_output_embeddings().weight.numel()
    total = sum(p.numel() for p in model.parameters())
    body = total - embed - (0 if model.config.tie_word_embeddings else head)
    return {
        "load_seconds": load_s,
        "seconds": seconds,
        "tokens": scorer.counters["tokens"],
        "pad_tokens": scorer.counters["pad_tokens"],
        "forward_passes": scorer.counters["forward_passes"],
        "parameters": total,
        "non_embedding_parameters": body,
        "scores": scores,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("llama", "qwen2"), default="qwen2")
    parser.add_argument("--size", choices=("tiny", "small", "0.5b", "1.5b"), default="0.5b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peak-flops", type=float, help="device peak FLOP/s (default: by name)")
    parser.add_argument("--lmeval", action="store_true", help="also run lm-eval's HFLM")
    parser.add_argument("--lmeval-batch-size", type=int, default=32)
    parser.add_argument("--model-dir", type=Path, help="where the model is built (default var/)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from worker.engine.types import Item

    folder = build_model(
        args.arch, args.size, args.model_dir or WORK / f"{args.arch}-{args.size}", args.seed
    )
    records = make_records(args.items, args.seed)
    items = [Item.from_dict({**r, "gold": tuple(r["gold"])}) for r in records]
    name, peak = device_peak(args.device, args.peak_flops)
    ours = run_engine(folder, items, args.dtype, args.device, args.batch_size)
    flops = 2 * ours["non_embedding_parameters"] * ours["tokens"] / ours["seconds"]
    figures: dict[str, Any] = {
        "device": name,
        "dtype": args.dtype,
        "model": f"{args.arch}-{args.size}",
        "parameters": ours["parameters"],
        "items": len(items),
        "engine": {
            "seconds": ours["seconds"],
            "load_seconds": ours["load_seconds"],
            "items_per_s": len(items) / ours["seconds"],
            "tokens": ours["tokens"],
            "pad_tokens": ours["pad_tokens"],
            "tokens_per_s": ours["tokens"] / ours["seconds"],
            "mfu": flops / peak if peak else None,
        },
    }
    print(
        f"model    {figures['model']} ({ours['parameters'] / 1e6:.0f}M parameters, "
        f"{ours['non_embedding_parameters'] / 1e6:.0f}M non-embedding), {args.dtype} on "
        f"{args.device} ({name}); {len(items)} MedQA-style items, 5 options"
    )
    engine = figures["engine"]
    mfu = "n/a (no peak known: --peak-flops)" if peak is None else f"{engine['mfu']:.1%}"
    print(
        f"engine   {engine['items_per_s']:.2f} items/s, {engine['tokens_per_s']:.0f} tokens/s "
        f"({ours['tokens']} tokens fed, +{ours['pad_tokens']} padding, "
        f"{ours['forward_passes']} forward passes, {ours['seconds']:.2f} s); MFU {mfu}"
    )
    if args.lmeval:
        from bench.vs_lmeval import run_lmeval

        pairs = [
            (score.context, option.continuation)
            for score in ours["scores"]
            for option in score.options
        ]
        theirs = run_lmeval(
            folder, pairs, args.lmeval_batch_size, device=args.device, dtype=DTYPES[args.dtype]
        )
        logprobs, cursor, same = theirs["logprobs"], 0, 0
        for score in ours["scores"]:
            mine = logprobs[cursor : cursor + len(score.options)]
            cursor += len(score.options)
            best = max(range(len(mine)), key=lambda k: (mine[k], -k))
            same += score.options[best].letter == score.chosen
        lm_flops = 2 * ours["non_embedding_parameters"] * theirs["tokens"] / theirs["seconds"]
        figures["lmeval"] = {
            "seconds": theirs["seconds"],
            "items_per_s": len(items) / theirs["seconds"],
            "tokens": theirs["tokens"],
            "tokens_per_s": theirs["tokens"] / theirs["seconds"],
            "mfu": lm_flops / peak if peak else None,
            "same_choices": same,
        }
        lm = figures["lmeval"]
        lm_mfu = "n/a" if peak is None else f"{lm['mfu']:.1%}"
        print(
            f"lm-eval  {lm['items_per_s']:.2f} items/s, {lm['tokens_per_s']:.0f} tokens/s "
            f"({theirs['tokens']} tokens fed, batch size {args.lmeval_batch_size}); MFU {lm_mfu}"
        )
        print(
            f"ratio    {engine['items_per_s'] / lm['items_per_s']:.2f}x items/s; same choice "
            f"on {same}/{len(items)} items (bf16 rounding differs between the two batchings)"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
