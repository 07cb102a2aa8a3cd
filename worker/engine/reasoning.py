"""Chain-of-thought versus direct answering: the reasoning prompt, answer extraction, cost.

Plain Python (no Django). A chain-of-thought answer reasons first and names its choice at
the end, often mentioning other letters on the way ("A is wrong because ..."). The parser
therefore takes the *last* explicit answer statement, in any of the six fixture languages
(en, es, fr, ru, zh, ja); failing that, a letter alone on the final line; failing that,
nothing: an unparseable answer counts as wrong and is reported, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

REASONING_INSTRUCTION = (
    "Think step by step about the clinical question, then finish with a final line of the "
    'form "Answer: X", where X is the letter of the single best option.'
)

# "answer" in each fixture language, with the optional "final/correct" and "is" around it.
_MARKERS = (
    r"(?:final\s+|correct\s+|best\s+)?answer(?:\s+is)?",
    r"(?:la\s+)?respuesta(?:\s+correcta|\s+final)?(?:\s+es)?",
    r"(?:la\s+)?(?:bonne\s+)?r[ée]ponse(?:\s+correcte|\s+finale)?(?:\s+est)?",
    r"(?:правильный\s+|окончательный\s+)?ответ",
    r"(?:正确|最终)?答案(?:是|为)?",
    r"(?:正解|答え|回答)(?:は)?",
)
_LETTER = r"[\(\[（【\*\s]*([A-J])(?![A-Za-z])"
_ANSWER = re.compile(r"(?i:" + "|".join(_MARKERS) + r")\s*(?:[:：\-–—=]|は|是)?\s*" + _LETTER)
_LAST_LINE_LETTER = re.compile(r"^[\s\*\(\[（]*([A-J])[\s\*\)\]）.。:]*$")


def extract_final_answer(text: str, letters: Sequence[str]) -> str | None:
    """The option letter a chain-of-thought answer settles on, or None when it is unclear."""
    valid = set(letters)
    found = [m.group(1) for m in _ANSWER.finditer(text) if m.group(1) in valid]
    if found:
        return found[-1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if lines:
        match = _LAST_LINE_LETTER.match(lines[-1])
        if match and match.group(1) in valid:
            return match.group(1)
    return None


@dataclass(frozen=True)
class ModeCost:
    """What answering in one mode cost, per item and per 1,000 items."""

    mode: str
    items: int
    generated_tokens: int
    wall_seconds: float
    device: str  # "cpu" or "gpu": which hourly price applies
    price_per_hour: float
    currency: str

    @property
    def tokens_per_item(self) -> float:
        return self.generated_tokens / self.items if self.items else 0.0

    @property
    def seconds_per_item(self) -> float:
        return self.wall_seconds / self.items if self.items else 0.0

    @property
    def cost_per_1000_items(self) -> float:
        return self.seconds_per_item * 1000 / 3600 * self.price_per_hour

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "tokens_per_item": self.tokens_per_item,
            "seconds_per_item": self.seconds_per_item,
            "cost_per_1000_items": self.cost_per_1000_items,
            "assumption": (
                f"{self.seconds_per_item:.3f} {self.device.upper()}-seconds per item x 1,000 "
                f"items at {self.price_per_hour:g} {self.currency} per {self.device.upper()}-hour"
            ),
        }


def cost_table(
    runs: Mapping[str, tuple[int, int, float]],
    *,
    device: str,
    prices: Mapping[str, float],
    currency: str,
) -> list[ModeCost]:
    """One cost row per mode from (items, generated tokens, wall seconds) and hourly prices."""
    if device not in prices:
        raise ValueError(f"no hourly price for device {device!r}; known: {', '.join(prices)}")
    return [
        ModeCost(mode, items, tokens, seconds, device, prices[device], currency)
        for mode, (items, tokens, seconds) in runs.items()
    ]
