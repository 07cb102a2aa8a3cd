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
