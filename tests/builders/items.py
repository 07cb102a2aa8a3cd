"""Engine item builders: items of different lengths with multi-token options, passages,
fct and multi-gold answers (no Django: the engine tests use them too)."""

from __future__ import annotations

import random

from worker.engine.types import Item

_WORDS = [
    "patient",
    "diagnosis",
    "treatment",
    "fever",
    "cough",
    "pneumonia",
    "asthma",
    "insulin",
    "metformin",
    "kidney",
    "liver",
    "heart",
    "blood",
    "pressure",
    "infection",
    "antibiotic",
    "dose",
    "emergency",
    "hospital",
    "symptom",
    "stroke",
    "sepsis",
    "migraine",
    "warfarin",
    "heparin",
    "fracture",
    "anemia",
    "nausea",
    "headache",
    "dizziness",
]


def _phrase(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(low, high)))


def make_items(n: int = 20, seed: int = 0) -> list[Item]:
    """Items of different lengths with multi-token options, passages, fct and multi-gold."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        letters = "ABCDE"[: rng.randint(2, 5)]
        options = {letter: _phrase(rng, 1, 6) for letter in letters}
        gold: tuple[str, ...] = (rng.choice(letters),)
        if i % 7 == 3:
            gold = tuple(sorted({*gold, letters[0]}))
        items.append(
            Item(
                id=f"item-{i}",
                question=_phrase(rng, 3, 60) + "?",
                options=options,
                gold=gold,
                context=(_phrase(rng, 5, 30),) if i % 4 == 0 else (),
                task="fct" if i % 5 == 2 else "mcq",
                proposed=letters[-1] if i % 5 == 2 else None,
            )
        )
    return items
