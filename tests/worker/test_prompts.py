"""Prompt formatting and parsing of generated answers."""

from __future__ import annotations

import pytest

from worker.engine.prompts import continuations, format_prompt, parse_choice
from worker.engine.types import Item

ITEM = Item(
    id="q1",
    question="Which drug is first-line for type 2 diabetes?",
    options={"A": "Metformin", "B": "Insulin", "C": "Acarbose"},
    gold=("A",),
)


def test_continuation_prompt_ends_with_answer_cue_and_hides_options() -> None:
    prompt = format_prompt(ITEM, "continuation")
    assert prompt == "Question: Which drug is first-line for type 2 diabetes?\nAnswer:"
    assert continuations(ITEM, "continuation") == [
        ("A", " Metformin"),
        ("B", " Insulin"),
        ("C", " Acarbose"),
    ]


def test_letter_prompt_lists_options_and_scores_letters() -> None:
    prompt = format_prompt(ITEM, "letter")
    assert prompt.splitlines()[1:] == ["A. Metformin", "B. Insulin", "C. Acarbose", "Answer:"]
    assert continuations(ITEM, "letter") == [("A", " A"), ("B", " B"), ("C", " C")]


def test_context_passages_come_first() -> None:
    item = Item(
        id="q", question="Q?", options={"A": "x", "B": "y"}, gold=("A",), context=("P1", "P2")
    )
    assert format_prompt(item).splitlines()[:3] == ["Context: P1", "Context: P2", "Question: Q?"]


def test_fct_prompt_states_the_students_proposal() -> None:
    item = Item(
        id="f", question="Q?", options={"A": "x", "B": "y"}, gold=("A",), task="fct", proposed="B"
    )
    assert format_prompt(item, "letter").endswith(
        "B. y\nA student proposed answer B. The correct answer is"
    )
    assert format_prompt(item, "continuation").endswith(
        'A student proposed answer "y". The correct answer is'
    )


def test_generation_prompt_asks_for_a_letter() -> None:
    assert "Answer with the letter of the correct option.\nAnswer:" in format_prompt(
        ITEM, "generation"
    )


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        format_prompt(ITEM, "chat")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("B. Insulin", "B"),
        ("(C) because it is cheap", "C"),
        ("The answer is C", "C"),
        ("metformin, clearly", "A"),
        ("A patient like this needs insulin", "B"),
        ("I think A or B", None),
        ("the answer is a drug", None),
        ("", None),
        ("no idea", None),
    ],
)
def test_parse_choice(text: str, expected: str | None) -> None:
    assert parse_choice(text, ITEM.options) == expected
