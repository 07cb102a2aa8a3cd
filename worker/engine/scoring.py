"""Multiple-choice log-likelihood scoring and batched generation.

Scores follow lm-evaluation-harness (`HFLM._loglikelihood_tokens`): an option's score is
the sum of the log-probabilities of its continuation tokens given the context, where the
context is encoded on its own and the continuation tokens are `encode(ctx + cont)` minus
the context's tokens. Unlike the harness, the context is run through the model once per
item, not once per option (see `batching.pack`).
"""

from __future__ import annotations

import inspect
import os
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from worker.engine.batching import (
    Request,
    RequestProgress,
    own_jobs,
    pack,
    plan_batches,
    share_contexts,
)
from worker.engine.prompts import continuations, format_prompt
from worker.engine.types import Item, ItemScore, OptionScore

if TYPE_CHECKING:
    import torch

    from worker.engine.loading import LoadedModel

__all__ = [
    "Scorer",
    "format_prompt",
    "naive_score_items",
    "encode_requests",
    "plan_batches",
    "Request",
]

ScoreMode = Literal["continuation", "letter"]
ProgressFn = Callable[[int, int], None]
BatchSize = int | Literal["auto"]

# "auto" batches by a token budget that halves on CUDA out-of-memory. Rows are also capped,
# and so are the float32 log-probabilities materialised per batch (rows x kept x vocab).
_AUTO_TOKENS = {"cuda": 1 << 16, "cpu": 1 << 12}
_MAX_ROWS = 64
_MAX_LOGIT_ELEMENTS = 1 << 28
# What one more forward pass costs beside its tokens, as a share of the token budget: a
# pass reads every weight once however few its rows (an 86M GPT-2 on one CPU core: 35 ms a
# pass, 2 ms a token, so about 17 tokens' worth; 32 tokens of the CPU budget is charged).
# It keeps the batch planner from trading a little padding for many small batches.
_BATCH_OVERHEAD_SHARE = 128
# Items tokenised per call of the tokenizer (its output is the largest transient per item).
_ENCODE_CHUNK = 256


def _max_length(loaded: LoadedModel) -> int:
    config = loaded.model.config
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048


def _prefix_tokens(loaded: LoadedModel) -> list[int]:
    """BOS when the tokenizer adds one by default (Llama-style), else nothing (GPT-2-style)."""
    tokenizer = loaded.tokenizer
    bos = tokenizer.bos_token_id
    if isinstance(bos, int) and tokenizer("a")["input_ids"][:1] == [bos]:
        return [bos]
    return []


def encode_requests(loaded: LoadedModel, items: Sequence[Item], mode: str) -> list[Request]:
    """Tokenise contexts and continuations exactly as lm-eval's `_encode_pair` does.

    Items are tokenised a chunk at a time and their tokens kept as compact int32 arrays, so
    the memory held per item is a few bytes a token, whatever the dataset's size (the
    tokenizer's own output, lists of Python ints for every option, is freed per chunk).
    """
    prefix = _prefix_tokens(loaded)
    max_len = _max_length(loaded)
    requests: list[Request] = []
    for start in range(0, len(items), _ENCODE_CHUNK):
        chunk = items[start : start + _ENCODE_CHUNK]
        requests.extend(_encode_chunk(loaded, chunk, mode, start, prefix, max_len))
    return requests


def _encode_chunk(
    loaded: LoadedModel,
    items: Sequence[Item],
    mode: str,
    first_index: int,
    prefix: list[int],
    max_len: int,
) -> list[Request]:
    staged: list[tuple[Item, str, list[tuple[str, str]]]] = []
    texts: list[str] = []
    for item in items:
        context = format_prompt(item, mode)
        pairs = continuations(item, mode)
        # lm-eval moves trailing whitespace of the context onto the continuation.
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            pairs = [(letter, context[-n_spaces:] + cont) for letter, cont in pairs]
            context = context[:-n_spaces]
        staged.append((item, context, pairs))
        texts.append(context)
        texts.extend(context + cont for _, cont in pairs)
    encoded = loaded.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    requests: list[Request] = []
    cursor = 0
    for index, (item, context, pairs) in enumerate(staged, start=first_index):
        ctx = prefix + list(encoded[cursor])
        conts = []
        for (letter, _), whole in zip(pairs, encoded[cursor + 1 :], strict=False):
            tokens = (prefix + list(whole))[len(ctx) :]
            if not tokens:
                raise ValueError(f"item {item.id!r}: option {letter} encodes to no tokens")
            conts.append(array("i", tokens))
        cursor += 1 + len(pairs)
        longest = max(len(c) for c in conts)
        if longest > max_len:
            raise ValueError(f"item {item.id!r}: an option is longer than the model's context")
        # Left-truncate like lm-eval, but one cut for all options so they share the context.
        ctx = ctx[-(max_len + 1 - longest) :]
        requests.append(
            Request(
                index=index,
                item=item,
                context=context,
                letters=tuple(letter for letter, _ in pairs),
                conts=tuple(cont for _, cont in pairs),
                ctx_tokens=array("i", ctx),
                cont_tokens=tuple(conts),
            )
        )
    return requests


def _item_score(request: Request, logprobs: list[float], mode: str, normalized: bool) -> ItemScore:
    options = tuple(
        OptionScore(letter=letter, continuation=cont, logprob=lp, n_tokens=len(tokens))
        for letter, cont, lp, tokens in zip(
            request.letters, request.conts, logprobs, request.cont_tokens, strict=True
        )
    )
    key = (lambda o: o.logprob_per_token) if normalized else (lambda o: o.logprob)
    # max() keeps the first of equal scores, like lm-eval's np.argmax.
    chosen = max(options, key=key).letter
    return ItemScore(
        item_id=request.item.id,
        context=request.context,
        options=options,
        chosen=chosen,
        gold=request.item.gold,
        # Multi-answer gold (MMedBench): the single top option counts as correct when it is
        # any of the gold letters.
        correct=chosen in request.item.gold,
        mode=mode,
    )


def _set_determinism() -> None:
    import torch

    # cuBLAS needs this before its first use to be deterministic; harmless on CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


class Scorer:
    """Scores and generates with one loaded model; reuse it for every check of a run."""

    def __init__(
        self, loaded: LoadedModel, *, batch_size: BatchSize = "auto", seed: int = 0
    ) -> None:
        if batch_size != "auto" and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be 'auto' or a positive int, got {batch_size!r}")
        self.loaded = loaded
        self.batch_size: BatchSize = batch_size
        self.seed = seed
        self.oom_backoffs = 0
        # Work done by successful scoring passes: rows, real tokens fed, padding tokens fed.
        self.counters = {"forward_passes": 0, "rows": 0, "tokens": 0, "pad_tokens": 0}
        kind = "cuda" if loaded.device.startswith("cuda") else "cpu"
        self._token_budget = _AUTO_TOKENS[kind]
        params = inspect.signature(loaded.model.forward).parameters
        self._can_keep_logits = "logits_to_keep" in params
        _set_determinism()

    def _batches(
        self,
        lengths: Sequence[int],
        order: Sequence[int],
        run: Callable[[list[int]], None],
        *,
        extra_tokens: int = 0,
        logit_positions: int = 1,
        progress: ProgressFn | None = None,
    ) -> None:
        """Run `run` over `order` in batches, halving the auto budget on out-of-memory.

        `order` is longest first, so the first batch is the largest one and an OOM shows
        at once. An "auto" run plans its batches (`plan_batches`) to feed the fewest padding
        tokens; after an OOM the rest is planned again under the halved budget. A batch only
        stores its results after its forward pass succeeded, so a retry never double-counts.
        """
        import torch

        widths = [lengths[i] + extra_tokens for i in order]
        total, done, start = len(order), 0, 0
        sizes: list[int] = []  # the plan from where it was made, batch by batch
        next_batch = 0
        while start < len(order):
            if next_batch == len(sizes):
                sizes, next_batch = self._plan(widths[start:], logit_positions), 0
            batch = list(order[start : start + sizes[next_batch]])
            width = widths[start]
            try:
                run(batch)
                failed = False
            except torch.OutOfMemoryError:
                if self.batch_size != "auto" or len(batch) == 1:
                    raise
                failed = True
            if failed:
                # Outside the except block, so the traceback no longer pins the batch's
                # tensors. Halve what this batch used, whichever cap had bounded it.
                self._token_budget = max(1, min(self._token_budget, len(batch) * width) // 2)
                self.oom_backoffs += 1
                sizes, next_batch = [], 0
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            next_batch += 1
            start += len(batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)

    def _rows_for(self, padded_len: int, logit_positions: int = 1) -> int:
        """Rows in a batch whose longest row has `padded_len` tokens."""
        if isinstance(self.batch_size, int):
            return self.batch_size
        vocab = int(getattr(self.loaded.model.config, "vocab_size", 0) or 1)
        by_logits = _MAX_LOGIT_ELEMENTS // max(1, logit_positions * vocab)
        by_tokens = self._token_budget // max(1, padded_len)
        return max(1, min(_MAX_ROWS, by_tokens, by_logits))

    def _plan(self, widths: Sequence[int], logit_positions: int) -> list[int]:
        """Batch sizes for rows of `widths` (longest first): a fixed size as asked, else
        the auto plan under the current token budget."""
        if isinstance(self.batch_size, int):
            return [self.batch_size] * -(-len(widths) // self.batch_size)
        return plan_batches(
            widths,
            lambda width: self._rows_for(width, logit_positions),
            overhead=self._token_budget // _BATCH_OVERHEAD_SHARE,
        )

    def score_items(
        self,
        items: Sequence[Item],
        *,
        mode: ScoreMode = "continuation",
        length_normalized: bool = False,
        progress: ProgressFn | None = None,
    ) -> list[ItemScore]:
        """Score every option of every item; choose by sum (or per-token) log-likelihood."""
        if mode not in ("continuation", "letter"):
            raise ValueError(f"score_items mode must be continuation or letter, got {mode!r}")
        attn = getattr(self.loaded.model.config, "_attn_implementation", "eager")
        if attn not in ("eager", "sdpa"):
            raise ValueError(f"shared-context scoring needs eager or sdpa attention, not {attn}")
        requests = encode_requests(self.loaded, items, mode)
        # A fixed batch size scores each request in a row of its own, so that its result does
        # not depend on which other items share the call (the sharding tests rely on it).
        jobs, where = (share_contexts if self.batch_size == "auto" else own_jobs)(requests)
        lengths = [job.packed_len for job in jobs]
        # lm-eval's key: longest first, ties by tokens (counterfactual pairs end up adjacent).
        order = sorted(
            range(len(jobs)),
            key=lambda i: (-lengths[i], jobs[i].ctx_tokens, jobs[i].cont_tokens),
        )
        results: dict[int, list[float]] = {}
        report = RequestProgress(where, progress)

        def run(batch: list[int]) -> None:
            results.update(self._score_batch([jobs[i] for i in batch]))
            report.jobs_done(batch)

        # Conservative: the widest logits window of any job bounds every batch.
        window = max((job.tail_len for job in jobs), default=1)
        self._batches(lengths, order, run, logit_positions=window)
        return [
            _item_score(request, [results[j][k] for j, k in slots], mode, length_normalized)
            for request, slots in zip(requests, where, strict=True)
        ]

    def _forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        logits_to_keep: int,
    ) -> torch.Tensor:
        """One forward pass; returns logits for the last `logits_to_keep` positions."""
        kwargs = {"logits_to_keep": logits_to_keep} if self._can_keep_logits else {}
        out = self.loaded.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=False,
            **kwargs,
        )
        logits: torch.Tensor = out.logits
        return logits[:, -logits_to_keep:, :]

    def _score_batch(self, batch: list[Request]) -> dict[int, list[float]]:
        import torch

        input_ids, mask, positions, keep = pack(self.loaded, batch)
        with torch.inference_mode():
            logits = self._forward(input_ids, mask, positions, keep)
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            rows: list[int] = []
            cols: list[int] = []
            targets: list[int] = []
            sizes: list[int] = []
            for row, request in enumerate(batch):
                # Window index of the context's last token (rows are left-padded).
                first = keep - request.tail_len
                offset = first + 1
                for tokens in request.cont_tokens:
                    cols.extend([first, *range(offset, offset + len(tokens) - 1)])
                    rows.extend([row] * len(tokens))
                    targets.extend(tokens)
                    sizes.append(len(tokens))
                    offset += len(tokens) - 1
            device = logprobs.device
            picked = logprobs[
                torch.tensor(rows, device=device),
                torch.tensor(cols, device=device),
                torch.tensor(targets, device=device),
            ]
            sums = [float(part.sum()) for part in torch.split(picked, sizes)]
        real = sum(r.packed_len for r in batch)
        self.counters["forward_passes"] += 1
        self.counters["rows"] += len(batch)
        self.counters["tokens"] += real
        self.counters["pad_tokens"] += int(input_ids.shape[0] * input_ids.shape[1]) - real
        out: dict[int, list[float]] = {}
        cursor = 0
        for request in batch:
            n = len(request.cont_tokens)
            out[request.index] = sums[cursor : cursor + n]
            cursor += n
        return out

    def render_prompt(self, prompt: str) -> str:
        """The exact text fed to `generate`: the chat template applied when there is one."""
        tokenizer = self.loaded.tokenizer
        if not getattr(tokenizer, "chat_template", None):
            return prompt
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        return str(rendered)

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        do_sample: bool = False,
        temperature: float = 1.0,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        """Generate a completion per prompt (greedy or seeded sampling), batched, in order."""
        import torch
        from transformers import GenerationMixin

        model = self.loaded.model
        if not isinstance(model, GenerationMixin):
            raise ValueError(f"{type(model).__name__} cannot generate text")

        tokenizer = self.loaded.tokenizer
        templated = bool(getattr(tokenizer, "chat_template", None))
        texts = [self.render_prompt(p) for p in prompts]
        # A chat template writes its own special tokens; plain prompts get the default ones.
        encoded = tokenizer(texts, add_special_tokens=not templated)["input_ids"] if texts else []
        limit = max(1, _max_length(self.loaded) - max_new_tokens)
        encoded = [list(ids)[-limit:] for ids in encoded]
        lengths = [len(ids) for ids in encoded]
        order = sorted(range(len(encoded)), key=lambda i: (-lengths[i], encoded[i]))
        outputs: dict[int, str] = {}
        torch.manual_seed(self.seed)
        options: dict[str, object] = {"max_new_tokens": max_new_tokens, "do_sample": do_sample}
        if do_sample:
            options["temperature"] = temperature
        pad_id = tokenizer.pad_token_id

        def run(batch: list[int]) -> None:
            width = max(lengths[i] for i in batch)
            # Decoder-only models continue from the last position: pad on the left.
            ids = [[pad_id] * (width - lengths[i]) + encoded[i] for i in batch]
            att = [[0] * (width - lengths[i]) + [1] * lengths[i] for i in batch]
            device = self.loaded.torch_device
            with torch.inference_mode():
                generated = model.generate(
                    input_ids=torch.tensor(ids, device=device),
                    attention_mask=torch.tensor(att, device=device),
                    pad_token_id=pad_id,
                    **options,
                )
            new = generated[:, width:].tolist()
            for i, tokens in zip(batch, new, strict=True):
                outputs[i] = str(tokenizer.decode(tokens, skip_special_tokens=True))

        self._batches(lengths, order, run, extra_tokens=max_new_tokens, progress=progress)
        return [outputs[i] for i in range(len(encoded))]


def naive_score_items(
    loaded: LoadedModel,
    items: Sequence[Item],
    *,
    mode: ScoreMode = "continuation",
    length_normalized: bool = False,
) -> list[ItemScore]:
    """Reference scorer: one sequence at a time, the context re-encoded for every option.

    This is lm-eval's computation with batch size 1; tests and the benchmark compare the
    `Scorer` against it.
    """
    import torch

    max_len = _max_length(loaded)
    device = loaded.torch_device
    scores = []
    with torch.inference_mode():
        for request in encode_requests(loaded, items, mode):
            logprobs = []
            for cont in request.cont_tokens:
                row = (list(request.ctx_tokens) + list(cont))[-(max_len + 1) :][:-1]
                logits = loaded.model(
                    input_ids=torch.tensor([row], device=device), use_cache=False
                ).logits[0]
                picked = torch.log_softmax(logits.float(), dim=-1)[-len(cont) :]
                index = torch.tensor(cont, device=device)[:, None]
                logprobs.append(float(picked.gather(1, index).sum()))
            scores.append(_item_score(request, logprobs, mode, length_normalized))
    return scores
