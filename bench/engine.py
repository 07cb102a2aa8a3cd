"""Benchmark: the engine's shared-context scorer against the naive per-option scorer.

Builds a model of a real architecture's shape with random weights (nothing downloaded),
the tiny locally trained tokenizer, and N multiple-choice items with 4 multi-token
options; scores them with both scorers and prints speed, agreement and padding figures.

    .venv/bin/python -m bench.engine                       # small Llama shape, CPU fp32
    python -m bench.engine --arch qwen2 --size 0.5b --dtype bf16 --device cuda

Not a test: nothing here asserts; the goals are printed next to the figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Shapes follow the published configs (Qwen2.5-0.5B/1.5B; Llama-3.2 with fewer or more
# layers); "small" is a Llama shape that runs on a 2-core CPU in about a minute.
SHAPES: dict[tuple[str, str], dict[str, Any]] = {
    ("llama", "small"): dict(
        hidden_size=512, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=8,
        intermediate_size=1376, vocab_size=32000, tie_word_embeddings=False,
    ),
    ("llama", "0.5b"): dict(
        hidden_size=1024, num_hidden_layers=20, num_attention_heads=16, num_key_value_heads=4,
        intermediate_size=4096, vocab_size=128256, tie_word_embeddings=True,
    ),
    ("llama", "1.5b"): dict(
        hidden_size=2048, num_hidden_layers=20, num_attention_heads=32, num_key_value_heads=8,
        intermediate_size=8192, vocab_size=128256, tie_word_embeddings=True,
    ),
    ("qwen2", "small"): dict(
        hidden_size=512, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=2,
        intermediate_size=1376, vocab_size=32000, tie_word_embeddings=True,
    ),
    ("qwen2", "0.5b"): dict(
        hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
        intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True,
    ),
    ("qwen2", "1.5b"): dict(
        hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
        intermediate_size=8960, vocab_size=151936, tie_word_embeddings=True,
    ),
}  # fmt: skip
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def build_model(arch: str, size: str, dtype: str, device: str, seed: int) -> Any:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    config_cls = LlamaConfig if arch == "llama" else Qwen2Config
    config = config_cls(**SHAPES[(arch, size)], max_position_embeddings=4096)
    torch.manual_seed(seed)
    with torch.device(device):
        # transformers leaves from_config unannotated.
        model = AutoModelForCausalLM.from_config(  # type: ignore[no-untyped-call]
            config, dtype=getattr(torch, DTYPES[dtype])
        )
    return model.eval()


def make_items(n: int, seed: int) -> list[Any]:
    from worker.engine.tiny import training_corpus
    from worker.engine.types import Item

    words = sorted({w for line in training_corpus() for w in line.split() if w.isalpha()})
    rng = random.Random(seed)

    def phrase(low: int, high: int) -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(low, high)))

    return [
        Item(
            id=f"bench-{i}",
            # Clinical vignettes vary a lot in length; options are short phrases.
            question=phrase(15, 160) + "?",
            options={letter: phrase(2, 8) for letter in "ABCD"},
            gold=(rng.choice("ABCD"),),
        )
        for i in range(n)
    ]


def batch_sizes(
    lengths: Sequence[int], order: Sequence[int], rows_for: Callable[[int], int]
) -> list[int]:
    """Rows per batch as the scorer takes them: sized by each batch's first (longest) row."""
    sizes, start = [], 0
    while start < len(order):
        sizes.append(min(rows_for(lengths[order[start]]), len(order) - start))
        start += sizes[-1]
    return sizes


def padded_tokens(lengths: Sequence[int], order: Sequence[int], sizes: Sequence[int]) -> int:
    """Padding added when rows come in `order`, cut into batches of `sizes` rows."""
    pad, start = 0, 0
    for size in sizes:
        batch = order[start : start + size]
        width = max(lengths[i] for i in batch)
        pad += sum(width - lengths[i] for i in batch)
        start += size
    return pad


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("llama", "qwen2"), default="llama")
    parser.add_argument("--size", choices=("small", "0.5b", "1.5b"), default="small")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--items", type=int, default=48)
    parser.add_argument("--naive-items", type=int, default=24, help="0: all --items")
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--peak-flops", type=float, default=989.4e12, help="H100 SXM dense bf16")
    args = parser.parse_args(argv)

    import torch

    from worker.engine.loading import LoadedModel, ModelSpec
    from worker.engine.scoring import BatchSize, Scorer, encode_requests, naive_score_items
    from worker.engine.tiny import train_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    model = build_model(args.arch, args.size, args.dtype, args.device, args.seed)
    tokenizer = train_tokenizer()
    with tempfile.TemporaryDirectory() as folder:
        loaded = LoadedModel(
            model=model,
            tokenizer=tokenizer,
            spec=ModelSpec(folder),
            device=args.device,
            dtype=DTYPES[args.dtype],
            digest=None,
            local_path=None,
        )
    items = make_items(args.items, args.seed)
    naive_items = items[: args.naive_items or args.items]
    batch_size: BatchSize = "auto" if args.batch_size == "auto" else int(args.batch_size)
    embed = model.get_input_embeddings().weight.numel()
    head = model.get_output_embeddings().weight
    total_params = sum(p.numel() for p in model.parameters())
    body = total_params - embed - (0 if model.config.tie_word_embeddings else head.numel())

    # Warm-up (allocator, kernels), then the timed runs.
    Scorer(loaded, batch_size=batch_size).score_items(items[:2])
    naive_score_items(loaded, items[:1])
    sync()
    scorer = Scorer(loaded, batch_size=batch_size, seed=args.seed)
    t0 = time.perf_counter()
    fast = scorer.score_items(items)
    sync()
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = naive_score_items(loaded, naive_items)
    sync()
    t_naive = time.perf_counter() - t0

    requests = encode_requests(loaded, items, "continuation")
    lengths = [r.packed_len for r in requests]
    order_sorted = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    order_given = list(range(len(lengths)))
    # The same batch sizes for both orders: only the sorting differs.
    window = max(r.tail_len for r in requests)
    sizes = batch_sizes(lengths, order_sorted, lambda n: scorer._rows_for(n, window))
    pad_sorted = padded_tokens(lengths, order_sorted, sizes)
    pad_given = padded_tokens(lengths, order_given, sizes)
    naive_tokens = sum(
        len(r.ctx_tokens) + len(c) - 1 for r in requests[: len(naive_items)] for c in r.cont_tokens
    )
    fast_tokens = scorer.counters["tokens"]
    delta = max(
        abs(a.logprob - b.logprob)
        for x, y in zip(fast, naive, strict=False)
        for a, b in zip(x.options, y.options, strict=True)
    )
    same = all(x.chosen == y.chosen for x, y in zip(fast, naive, strict=False))
    fast_rate, naive_rate = len(items) / t_fast, len(naive_items) / t_naive
    ctx = sum(len(r.ctx_tokens) for r in requests) / len(requests)
    opt = sum(len(c) for r in requests for c in r.cont_tokens) / (4 * len(requests))

    print(
        f"model      {args.arch}-{args.size} {args.dtype} on {args.device}: "
        f"{total_params / 1e6:.1f}M params ({body / 1e6:.1f}M non-embedding), "
        f"vocab {model.config.vocab_size}, torch threads {torch.get_num_threads()}"
    )
    print(
        f"items      {len(items)} (naive on {len(naive_items)}), 4 options; mean context "
        f"{ctx:.0f} tokens, mean option {opt:.1f} tokens; batch size {args.batch_size}"
    )
    print(
        f"engine     {fast_rate:8.2f} items/s  {fast_tokens / t_fast:10.0f} tokens/s  "
        f"({t_fast:.2f} s, {scorer.counters['forward_passes']} forward passes)"
    )
    print(
        f"naive      {naive_rate:8.2f} items/s  {naive_tokens / t_naive:10.0f} tokens/s  "
        f"({t_naive:.2f} s, {4 * len(naive_items)} forward passes)"
    )
    print(f"speed-up   {fast_rate / naive_rate:.2f}x   (goal >= 2x)")
    print(
        f"agreement  max |delta logprob| {delta:.3g} (goal <= 1e-4 in fp32); "
        f"identical answers: {same}"
    )
    print(
        f"padding    {pad_sorted} tokens length-sorted vs {pad_given} in given order: "
        f"ratio {pad_sorted / max(1, pad_given):.3f} (goal <= 0.5); "
        f"real tokens fed {fast_tokens} vs naive {naive_tokens * len(items) // len(naive_items)}"
    )
    if args.device.startswith("cuda"):
        for name, tokens, seconds in (
            ("engine", fast_tokens, t_fast),
            ("naive", naive_tokens, t_naive),
        ):
            share = 2 * body * tokens / seconds / args.peak_flops
            print(
                f"MFU        {name}: {share:.2%} of {args.peak_flops / 1e12:.1f} TFLOP/s "
                f"(2 x non-embedding params x real tokens / time)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
