"""Prompt formatting and answer parsing: the one place that decides what the model reads.

Continuation mode follows lm-evaluation-harness: the context ends with "Answer:" and each
option is scored as the continuation " <option text>" (options are not listed). Letter
mode lists the options and scores " A", " B", ... as one-token continuations. Generation
mode lists the options and asks for the letter. Items of task "fct" end instead with the
student's proposal: "A student proposed answer C. The correct answer is". An option-prior
item (`metadata["option_prior"]`) shows no question: just "Answer:" in continuation mode.
"""

from __future__ import annotations

import re

from worker.engine.types import Item

MODES = ("continuation", "letter", "generation")
ANSWER_CUE = "Answer:"
GENERATION_INSTRUCTION = "Answer with the letter of the correct option."


def format_prompt(item: Item, mode: str = "continuation") -> str:
    """Return the exact context string the model reads for `item` in `mode`."""
    if mode not in MODES:
        raise ValueError(f"unknown scoring mode {mode!r}; use one of {MODES}")
    if item.metadata.get("option_prior"):
        # The option-prior baseline: the options alone, after a content-free cue.
        lines = [] if mode == "continuation" else [f"{k}. {v}" for k, v in item.options.items()]
        return "\n".join(
            [*lines, *([GENERATION_INSTRUCTION] if mode == "generation" else [])] + [ANSWER_CUE]
        )
    lines = [f"Context: {passage}" for passage in item.context]
    lines.append(f"Question: {item.question}")
    if mode != "continuation":
        lines.extend(f"{letter}. {text}" for letter, text in item.options.items())
    if mode == "generation":
        lines.append(GENERATION_INSTRUCTION)
    if item.task == "fct" and item.proposed:
        lines.append(f"A student proposed answer {_proposal(item, mode)}. The correct answer is")
    else:
        lines.append(ANSWER_CUE)
    return "\n".join(lines)


def _proposal(item: Item, mode: str) -> str:
    proposed = item.proposed or ""
    if proposed not in item.options:
        return f'"{proposed}"'
    # Without the option list a bare letter means nothing, so quote the option's text.
    return f'"{item.options[proposed]}"' if mode == "continuation" else proposed


def continuations(item: Item, mode: str) -> list[tuple[str, str]]:
    """Return (letter, continuation) pairs scored for `item`; each starts with a space."""
    if not item.options:
        raise ValueError(f"item {item.id!r} has no options to score")
    if mode == "letter":
        return [(letter, f" {letter}") for letter in item.options]
    return [(letter, f" {text}") for letter, text in item.options.items()]


# "B", "B.", "(B)", "B)" at the start; not "A patient ..." (an article, not an answer).
_LEADING_LETTER = re.compile(r"^\W{0,3}(?:\(([A-Z])\)|([A-Z])(?:[.:)\]]|$))")
_ANSWER_IS = re.compile(r"(?i:answer)(?:\s+(?i:is))?\s*[:\-]?\s*\(?([A-Z])\b")
_STANDALONE = re.compile(r"(?<![\w'])\(?([A-Z])\)?(?![\w'])")


def parse_choice(text: str, options: dict[str, str]) -> str | None:
    """Return the option letter a generated answer names, or None when it is unclear.

    Tried in order: a letter at the start ("B.", "(B)"), "answer is B", exactly one option
    text quoted in the answer, exactly one standalone option letter anywhere.
    """
    stripped = text.strip()
    if not stripped:
        return None
    for pattern in (_LEADING_LETTER, _ANSWER_IS):
        match = pattern.search(stripped)
        letter = next((g for g in match.groups() if g), None) if match else None
        if letter in options:
            return letter
    lowered = stripped.casefold()
    named = [letter for letter, option in options.items() if option.casefold() in lowered]
    if len(named) == 1:
        return named[0]
    letters = {m.group(1) for m in _STANDALONE.finditer(stripped) if m.group(1) in options}
    if len(letters) == 1:
        return letters.pop()
    return None
