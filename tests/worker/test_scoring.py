"""The shared-context scorer against the naive lm-eval-style reference, batching, generation."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest
import torch

from worker.engine.batching import plan_batches, share_contexts
from worker.engine.choice import with_priors
from worker.engine.loading import LoadedModel
from worker.engine.prompts import format_prompt
from worker.engine.scoring import Scorer, encode_requests, naive_score_items
from worker.engine.types import Item, ItemScore

TOLERANCE = 1e-4


def _max_delta(a: list[ItemScore], b: list[ItemScore]) -> float:
    return max(
        abs(x.logprob - y.logprob)
        for sa, sb in zip(a, b, strict=True)
        for x, y in zip(sa.options, sb.options, strict=True)
    )


class RecordingScorer(Scorer):
    """Records every forward pass's shape; may fail like a GPU that ran out of memory."""

    def __init__(self, *args: Any, oom_above: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.oom_above = oom_above
        self.shapes: list[tuple[int, int]] = []
        self.failed: list[int] = []

    def _forward(self, input_ids: torch.Tensor, *args: Any) -> torch.Tensor:
        rows, width = input_ids.shape
        if self.oom_above is not None and rows > self.oom_above:
            self.failed.append(rows)
            raise torch.OutOfMemoryError("simulated: CUDA out of memory")
        self.shapes.append((rows, width))
        return super()._forward(input_ids, *args)


@pytest.mark.parametrize("batch_size", ["auto", 3])
def test_scorer_equals_naive_scorer(
    tiny: LoadedModel, items: list[Item], batch_size: int | str
) -> None:
    naive = naive_score_items(tiny, items)
    fast = Scorer(tiny, batch_size=batch_size).score_items(items)  # type: ignore[arg-type]
    assert _max_delta(fast, naive) <= TOLERANCE
    assert [s.chosen for s in fast] == [s.chosen for s in naive]
    # The items really exercise multi-token options and different lengths.
    assert max(o.n_tokens for s in fast for o in s.options) >= 5
    assert len({len(s.context) for s in fast}) > 10


def test_letter_mode_scores_letters_in_one_pass_per_item(
    tiny: LoadedModel, items: list[Item]
) -> None:
    scorer = RecordingScorer(tiny, batch_size=4)
    scores = scorer.score_items(items, mode="letter")
    naive = naive_score_items(tiny, items, mode="letter")
    assert _max_delta(scores, naive) <= TOLERANCE
    assert [s.chosen for s in scores] == [s.chosen for s in naive]
    assert sum(rows for rows, _ in scorer.shapes) == len(items)
    for item, score in zip(items, scores, strict=True):
        assert [o.continuation for o in score.options] == [f" {k}" for k in item.options]
        assert all(o.n_tokens == 1 for o in score.options)
        assert score.context == format_prompt(item, "letter")
        assert score.mode == "letter"


def test_context_is_encoded_once_per_item(tiny: LoadedModel, items: list[Item]) -> None:
    scorer = RecordingScorer(tiny, batch_size=1)
    scorer.score_items(items)
    requests = encode_requests(tiny, items, "continuation")
    assert len(scorer.shapes) == len(items)
    fed = sum(width for _, width in scorer.shapes)
    naive = sum(len(r.ctx_tokens) + len(cont) - 1 for r in requests for cont in r.cont_tokens)
    assert fed == sum(r.packed_len for r in requests) < naive


def test_tokenisation_splits_context_and_continuation_like_lm_eval(
    tiny: LoadedModel, items: list[Item]
) -> None:
    tokenizer = tiny.tokenizer
    for request in encode_requests(tiny, items, "continuation"):
        context = tokenizer(request.context, add_special_tokens=False)["input_ids"]
        assert list(request.ctx_tokens) == context
        for cont, tokens in zip(request.conts, request.cont_tokens, strict=True):
            whole = tokenizer(request.context + cont, add_special_tokens=False)["input_ids"]
            assert list(tokens) == whole[len(context) :]


def test_item_score_records_what_was_scored(tiny: LoadedModel, items: list[Item]) -> None:
    for item, score in zip(items, Scorer(tiny).score_items(items), strict=True):
        assert score.item_id == item.id
        assert score.context == format_prompt(item, "continuation")
        assert [(o.letter, o.continuation) for o in score.options] == [
            (letter, f" {text}") for letter, text in item.options.items()
        ]
        best = max(score.options, key=lambda o: o.logprob)
        assert score.chosen == best.letter
        assert score.gold == item.gold
        assert score.correct == (score.chosen in item.gold)
        assert all(o.logprob < 0 and o.n_tokens >= 1 for o in score.options)


def test_length_normalised_choice_uses_per_token_score(
    tiny: LoadedModel, items: list[Item]
) -> None:
    for score in Scorer(tiny).score_items(items, length_normalized=True):
        best = max(score.options, key=lambda o: o.logprob / o.n_tokens)
        assert score.chosen == best.letter
        assert best.logprob_per_token == best.logprob / best.n_tokens


def test_reruns_are_bit_identical(tiny: LoadedModel, items: list[Item]) -> None:
    first = Scorer(tiny, seed=1).score_items(items)
    second = Scorer(tiny, seed=1).score_items(items)
    assert [o.logprob for s in first for o in s.options] == [
        o.logprob for s in second for o in s.options
    ]


def test_batches_run_longest_first(tiny: LoadedModel, items: list[Item]) -> None:
    scorer = RecordingScorer(tiny, batch_size=3)
    scorer.score_items(items)
    widths = [width for _, width in scorer.shapes]
    assert widths == sorted(widths, reverse=True)


def _split_cost(widths: Sequence[int], sizes: Sequence[int], overhead: int) -> int:
    cost, first = 0, 0
    for size in sizes:
        cost += size * widths[first] + overhead
        first += size
    return cost


def _all_splits(n: int) -> list[list[int]]:
    """Every way to cut n consecutive rows into batches (2^(n-1) of them)."""
    splits = []
    for cuts in itertools.product([False, True], repeat=n - 1):
        sizes, size = [], 1
        for cut in cuts:
            if cut:
                sizes.append(size)
                size = 0
            size += 1
        splits.append([*sizes, size])
    return splits


def test_batch_plan_is_the_cheapest_split_by_exhaustive_search() -> None:
    rng = random.Random(5)
    for _ in range(150):
        n = rng.randint(1, 9)
        widths = sorted((rng.randint(1, 300) for _ in range(n)), reverse=True)
        budget, overhead = rng.choice([40, 300, 1200, 10_000]), rng.choice([0, 7, 32, 500])

        def cap(width: int, budget: int = budget) -> int:
            return max(1, budget // width)

        plan = plan_batches(widths, cap, overhead=overhead)
        assert sum(plan) == n and all(size >= 1 for size in plan)
        starts = list(itertools.accumulate([0, *plan[:-1]]))
        assert all(size <= cap(widths[s]) for s, size in zip(starts, plan, strict=True))
        allowed = [
            sizes
            for sizes in _all_splits(n)
            if all(
                size <= cap(widths[s])
                for s, size in zip(itertools.accumulate([0, *sizes[:-1]]), sizes, strict=True)
            )
        ]
        best = min(_split_cost(widths, sizes, overhead) for sizes in allowed)
        assert _split_cost(widths, plan, overhead) == best


def test_batch_plan_edges() -> None:
    one: Callable[[int], int] = lambda width: 1  # noqa: E731
    assert plan_batches([], one, overhead=5) == []
    assert plan_batches([7], lambda width: 64, overhead=0) == [1]
    assert plan_batches([9, 8, 7], one, overhead=0) == [1, 1, 1]
    # Equal widths: one batch, however small the overhead.
    assert plan_batches([5] * 10, lambda width: 64, overhead=0) == [10]
    # A cap of 0 still makes progress, one row at a time.
    assert plan_batches([3, 2], lambda width: 0, overhead=1) == [1, 1]


def test_auto_batches_keep_short_option_priors_apart_from_long_items(
    tiny: LoadedModel, items: list[Item]
) -> None:
    """An item's option-prior twin is a fraction of its length: a batch holding both pads
    the twins to the item. The auto plan cuts there, and the scores do not change."""
    everything = with_priors(items)
    scorer = RecordingScorer(tiny, batch_size="auto")
    scores = scorer.score_items(everything)
    jobs, _ = share_contexts(encode_requests(tiny, everything, "continuation"))
    lengths = sorted((job.packed_len for job in jobs), reverse=True)
    window = max(job.tail_len for job in jobs)
    # What filling every batch to its row cap, as the scorer used to, pads.
    filled, first = 0, 0
    while first < len(lengths):
        rows = scorer._rows_for(lengths[first], window)
        filled += sum(lengths[first] - n for n in lengths[first : first + rows])
        first += rows
    assert scorer.counters["pad_tokens"] < filled / 2
    assert scorer.counters["tokens"] == sum(lengths)
    assert len(scorer.shapes) >= 2
    assert [w for _, w in scorer.shapes] == sorted((w for _, w in scorer.shapes), reverse=True)
    naive = naive_score_items(tiny, everything)
    assert _max_delta(scores, naive) <= TOLERANCE
    assert [s.chosen for s in scores] == [s.chosen for s in naive]


def test_an_option_recurring_under_the_same_context_is_scored_once(
    tiny: LoadedModel, items: list[Item]
) -> None:
    """Option-prior twins all read "Answer:": an option text shared by several items is one
    forward-pass position, and every twin still gets its own score for it."""
    base = items[:6]
    shared = [
        replace(item, id=f"{item.id}-again", options={**item.options, "A": base[0].options["A"]})
        for item in base
    ]
    everything = with_priors([*base, *shared])
    requests = encode_requests(tiny, everything, "continuation")
    jobs, where = share_contexts(requests)
    # Each request's slots point at exactly its own option tokens.
    for request, slots in zip(requests, where, strict=True):
        assert [list(jobs[j].cont_tokens[k]) for j, k in slots] == [
            list(c) for c in request.cont_tokens
        ]
    # Twins share their context: their distinct options are scored once, in fewer jobs.
    twins = [r for r in requests if r.item.id.endswith("::prior")]
    assert [r.index for r in twins] == list(range(12, 24))
    distinct = {c.tobytes() for r in twins for c in r.cont_tokens}
    twin_jobs = {
        j for r, slots in zip(requests, where, strict=True) if r in twins for j, _ in slots
    }
    assert sum(len(jobs[j].cont_tokens) for j in twin_jobs) == len(distinct)
    assert len(distinct) < sum(len(r.cont_tokens) for r in twins)
    assert len(twin_jobs) < len(twins)
    # No job is wider, or needs more logits, than the widest request.
    assert max(j.packed_len for j in jobs) <= max(r.packed_len for r in requests)
    assert max(j.tail_len for j in jobs) <= max(r.tail_len for r in requests)
    scorer = Scorer(tiny, batch_size="auto")
    calls: list[tuple[int, int]] = []
    scores = scorer.score_items(everything, progress=lambda d, t: calls.append((d, t)))
    assert scorer.counters["tokens"] == sum(j.packed_len for j in jobs)
    assert scorer.counters["tokens"] < sum(r.packed_len for r in requests)
    assert calls[-1] == (len(everything), len(everything))
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})
    naive = naive_score_items(tiny, everything)
    assert _max_delta(scores, naive) <= TOLERANCE
    assert [s.chosen for s in scores] == [s.chosen for s in naive]
    # Twins whose options coincide get the same score for the shared option.
    first, again = scores[12], scores[18]
    assert first.item_id.endswith("::prior") and again.item_id.endswith("-again::prior")
    assert first.options[0].logprob == again.options[0].logprob


def test_auto_batch_size_halves_on_out_of_memory(tiny: LoadedModel, items: list[Item]) -> None:
    scorer = RecordingScorer(tiny, batch_size="auto", oom_above=2)
    scores = scorer.score_items(items)
    assert scorer.failed and scorer.oom_backoffs >= 1
    assert max(rows for rows, _ in scorer.shapes) <= 2
    assert sum(rows for rows, _ in scorer.shapes) == len(items)
    naive = naive_score_items(tiny, items)
    assert _max_delta(scores, naive) <= TOLERANCE
    assert [s.chosen for s in scores] == [s.chosen for s in naive]


def test_fixed_batch_size_does_not_hide_out_of_memory(tiny: LoadedModel, items: list[Item]) -> None:
    with pytest.raises(torch.OutOfMemoryError):
        RecordingScorer(tiny, batch_size=4, oom_above=2).score_items(items)


def test_progress_callback_counts_items(tiny: LoadedModel, items: list[Item]) -> None:
    calls: list[tuple[int, int]] = []
    Scorer(tiny, batch_size=3).score_items(items, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (len(items), len(items))
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})
    assert {t for _, t in calls} == {len(items)}


PROMPTS = ["What is the first-line drug for type 2 diabetes?", "Fever?", "Which organ is hit?"]


def test_greedy_generation_is_deterministic_and_batch_invariant(tiny: LoadedModel) -> None:
    scorer = Scorer(tiny, batch_size=3)
    calls: list[tuple[int, int]] = []
    first = scorer.generate(PROMPTS, max_new_tokens=6, progress=lambda d, t: calls.append((d, t)))
    assert first == scorer.generate(PROMPTS, max_new_tokens=6)
    assert first == [scorer.generate([p], max_new_tokens=6)[0] for p in PROMPTS]
    assert all(isinstance(text, str) and text for text in first)
    assert calls[-1] == (3, 3)


def test_sampled_generation_is_seeded(tiny: LoadedModel) -> None:
    def sample(seed: int) -> list[str]:
        return Scorer(tiny, seed=seed).generate(
            PROMPTS, max_new_tokens=8, do_sample=True, temperature=1.0
        )

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_generation_uses_the_chat_template(tiny: LoadedModel) -> None:
    rendered = Scorer(tiny).render_prompt("Hello")
    assert rendered == "<|user|>\nHello\n<|assistant|>\n"


def test_chunked_tokenisation_gives_the_same_requests_in_order(
    tiny: LoadedModel, items: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = encode_requests(tiny, items, "continuation")
    monkeypatch.setattr("worker.engine.scoring._ENCODE_CHUNK", 3)
    chunked = encode_requests(tiny, items, "continuation")
    assert [r.index for r in chunked] == list(range(len(items)))
    assert [(r.item.id, r.context, list(r.ctx_tokens)) for r in chunked] == [
        (r.item.id, r.context, list(r.ctx_tokens)) for r in whole
    ]
    assert [[list(c) for c in r.cont_tokens] for r in chunked] == [
        [list(c) for c in r.cont_tokens] for r in whole
    ]
    # Tokens are held as int32 arrays, not tuples of Python ints.
    assert all(r.ctx_tokens.itemsize == 4 for r in chunked)
