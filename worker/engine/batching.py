"""What the scorer feeds the model: tokenised requests, contexts shared between them, and
batches planned to feed the fewest padding tokens."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker.engine.types import Item

if TYPE_CHECKING:
    import torch

    from worker.engine.loading import LoadedModel


@dataclass(frozen=True)
class Request:
    """One item tokenised for scoring: the context once, then every option's tokens."""

    index: int
    item: Item
    context: str
    letters: tuple[str, ...]
    conts: tuple[str, ...]
    ctx_tokens: array[int]  # int32: a tuple of Python ints takes 9 times the memory
    cont_tokens: tuple[array[int], ...]

    @property
    def packed_len(self) -> int:
        # The last token of an option is only ever a target, never an input.
        return len(self.ctx_tokens) + sum(len(c) - 1 for c in self.cont_tokens)

    @property
    def tail_len(self) -> int:
        """Positions whose logits are needed: the context's last token and option inputs."""
        return 1 + sum(len(c) - 1 for c in self.cont_tokens)


def plan_batches(widths: Sequence[int], cap: Callable[[int], int], *, overhead: int) -> list[int]:
    """Batch sizes over rows of `widths` (longest first, each batch a run of consecutive
    rows) that minimise the tokens fed, padding included, plus `overhead` per batch.

    A batch is as wide as its first row and holds at most `cap(that width)` rows. Cutting
    where the lengths drop keeps long rows from padding short ones (an item's option-prior
    twin is a fraction of its length). Exact, by dynamic programming over where batches
    start: O(rows x largest cap).
    """
    n = len(widths)
    cost = [0] * (n + 1)
    take = [0] * (n + 1)
    for first in range(n - 1, -1, -1):
        width = widths[first]
        best_cost, best_size = -1, 0
        for size in range(1, min(max(1, cap(width)), n - first) + 1):
            candidate = size * width + overhead + cost[first + size]
            # "<=": of equal costs, the larger batch (fewer forward passes).
            if best_cost < 0 or candidate <= best_cost:
                best_cost, best_size = candidate, size
        cost[first], take[first] = best_cost, best_size
    sizes, first = [], 0
    while first < n:
        sizes.append(take[first])
        first += take[first]
    return sizes


def pack(
    loaded: LoadedModel, batch: list[Request]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Pack each item into one row: context, then every option's input tokens.

    Why packing rather than expanding `past_key_values` across options: one forward per
    batch with no cache objects, no K-fold copy of the context's keys and values, and it
    works for any model whose attention takes a 4-D additive mask. Each option attends to
    the context and to itself only, and its position ids continue from the context, so its
    log-probs are those of `ctx + option` on its own. Rows are left-padded so every row's
    needed positions sit at the end, which lets `logits_to_keep` skip the lm_head (the
    largest matmul for big vocabularies) on the context positions.
    """
    import torch

    pad_id = loaded.tokenizer.pad_token_id
    width = max(r.packed_len for r in batch)
    ids = torch.full((len(batch), width), pad_id if isinstance(pad_id, int) else 0)
    segments = torch.full((len(batch), width), -1)
    positions = torch.zeros((len(batch), width), dtype=torch.long)
    for row, request in enumerate(batch):
        tokens = list(request.ctx_tokens)
        seg = [0] * len(tokens)
        pos = list(range(len(tokens)))
        for k, cont in enumerate(request.cont_tokens, start=1):
            tokens.extend(cont[:-1])
            seg.extend([k] * (len(cont) - 1))
            pos.extend(range(len(request.ctx_tokens), len(request.ctx_tokens) + len(cont) - 1))
        start = width - len(tokens)
        ids[row, start:] = torch.tensor(tokens)
        segments[row, start:] = torch.tensor(seg)
        positions[row, start:] = torch.tensor(pos)
    # The B x L x L mask is built where it is used, not copied there.
    device = loaded.torch_device
    segments = segments.to(device)
    causal = torch.ones((width, width), dtype=torch.bool, device=device).tril()
    seg_q = segments[:, :, None]
    seg_k = segments[:, None, :]
    # Padding (segment -1) only sees padding, so no row of the softmax is empty.
    allowed = causal & ((seg_k == seg_q) | ((seg_k == 0) & (seg_q > 0)))
    dtype = loaded.model.dtype
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    keep = max(r.tail_len for r in batch)
    return ids.to(device), mask[:, None], positions.to(device), keep


def share_contexts(
    requests: Sequence[Request],
) -> tuple[list[Request], list[list[tuple[int, int]]]]:
    """The forward-pass jobs that score every request, each distinct (context, option) once.

    Requests whose context tokens are equal (every item's option-prior twin in continuation
    mode reads the same "Answer:"; a question asked twice) become jobs that hold their
    distinct options after the context once: an option text that recurs across items
    ("Aspirin", "Reassurance") is scored once for the baseline, not once per item. A job is
    never wider, nor needs more logits, than the longest request already does, so batch
    shapes and memory stay within what the requests alone would ask for. Returns the jobs
    and, for each request, where each of its options is scored: (job, option slot).
    """
    max_packed = max((r.packed_len for r in requests), default=0)
    max_tail = max((r.tail_len for r in requests), default=1)
    groups: dict[bytes, list[int]] = {}
    for position, request in enumerate(requests):
        groups.setdefault(request.ctx_tokens.tobytes(), []).append(position)
    jobs: list[Request] = []
    where: list[list[tuple[int, int]]] = [[] for _ in requests]
    for members in groups.values():
        first = requests[members[0]]
        held: list[array[int]] = []  # the open job's options
        inputs = 0  # their input tokens: the open job's tail_len - 1
        slots: dict[bytes, tuple[int, int]] = {}
        for position in members:
            for cont in requests[position].cont_tokens:
                key = cont.tobytes()
                if key not in slots:
                    grown = inputs + len(cont) - 1
                    if held and (
                        len(first.ctx_tokens) + grown > max_packed or 1 + grown > max_tail
                    ):
                        jobs.append(_job(len(jobs), first, tuple(held)))
                        held, inputs, grown = [], 0, len(cont) - 1
                    # The open job becomes jobs[len(jobs)] when it is closed.
                    slots[key] = (len(jobs), len(held))
                    held.append(cont)
                    inputs = grown
                where[position].append(slots[key])
        if held:
            jobs.append(_job(len(jobs), first, tuple(held)))
    return jobs, where


def own_jobs(requests: Sequence[Request]) -> tuple[list[Request], list[list[tuple[int, int]]]]:
    """One job per request, as asked: what `share_contexts` returns when nothing is shared."""
    return list(requests), [[(r.index, k) for k in range(len(r.cont_tokens))] for r in requests]


class RequestProgress:
    """Reports progress in requests (items) done, while the forward passes run jobs."""

    def __init__(
        self,
        where: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.progress, self.total, self.done = progress, len(where), 0
        self.waiting: list[int] = []  # per request: its jobs not yet run
        self.needed_by: dict[int, list[int]] = {}
        for position, slots in enumerate(where):
            jobs = {job for job, _ in slots}
            self.waiting.append(len(jobs))
            for job in jobs:
                self.needed_by.setdefault(job, []).append(position)

    def jobs_done(self, jobs: Sequence[int]) -> None:
        before = self.done
        for job in jobs:
            for position in self.needed_by.get(job, ()):
                self.waiting[position] -= 1
                self.done += self.waiting[position] == 0
        if self.progress is not None and self.done > before:
            self.progress(self.done, self.total)


def _job(index: int, first: Request, conts: tuple[array[int], ...]) -> Request:
    return Request(
        index=index,
        item=first.item,
        context=first.context,
        letters=("",) * len(conts),
        conts=("",) * len(conts),
        ctx_tokens=first.ctx_tokens,
        cont_tokens=conts,
    )
