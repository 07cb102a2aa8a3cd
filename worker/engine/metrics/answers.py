"""How the metric modules read a stored answer and compare it with the gold letters."""

from __future__ import annotations

from collections.abc import Iterable


def answer_letters(answer: str | None) -> frozenset[str]:
    """Letters of a stored answer: "B" -> {"B"}, "A,C" -> {"A", "C"}; "" or None -> empty."""
    if not answer:
        return frozenset()
    return frozenset(part.strip().upper() for part in answer.split(",") if part.strip())


def is_correct(answer: str | None, gold: Iterable[str]) -> bool:
    """Whether an answer is right; no parseable answer is wrong.

    One letter: right when it is a gold letter (the scorer's rule; a multi-answer item
    scored by picking one option counts a gold pick as right). Several letters: right when
    the set equals the gold set (MMedBench's rule).
    """
    letters = answer_letters(answer)
    gold_letters = frozenset(g.strip().upper() for g in gold)
    if len(letters) == 1:
        return letters <= gold_letters
    return bool(letters) and letters == gold_letters


def same_answer(a: str | None, b: str | None) -> bool:
    """Whether two answers name the same option(s); an unparseable answer matches nothing."""
    letters = answer_letters(a)
    return bool(letters) and letters == answer_letters(b)


# Med-HALT's refusal markers (medhalt/eval/eval_full.py), matched case-insensitively as
# substrings. A keyword baseline: "admit" also matches "admitted to hospital".
REFUSAL_MARKERS = (
    "i do not know",
    "conceding defeat",
    "admit",
    "none of the above",
    "acknowled",
    "irrelevant",
    "fiction",
    "all of the above",
    "nonsensical",
    "no correct",
    "absurd",
    "defy",
    "i don't know",
    "defies",
)


def contains_refusal(text: str) -> bool:
    """Whether generated text contains one of Med-HALT's refusal markers."""
    lowered = text.casefold().replace("\u2019", "'")
    return any(marker in lowered for marker in REFUSAL_MARKERS)


def medhalt_outcome(
    test: str, prediction: str, gold: Iterable[str], abstain: Iterable[str], generated: str
) -> tuple[bool, bool]:
    """(correct, abstained) of one Med-HALT answer.

    A fake question is answered right by abstaining: an abstain option, or in generated text
    any refusal marker. Elsewhere only a reply without a parseable answer counts as a
    refusal, so an explanation saying "irrelevant" does not turn an answer into one.
    """
    letters = answer_letters(prediction)
    picked_abstain = bool(letters) and letters <= set(abstain)
    if test == "fake":
        gave_up = picked_abstain or contains_refusal(generated)
        return gave_up, gave_up
    gave_up = picked_abstain or (not letters and contains_refusal(generated))
    return is_correct(prediction, gold), gave_up
