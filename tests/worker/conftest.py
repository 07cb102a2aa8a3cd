"""Fixtures for the engine tests: one tiny model per session, loaded like a real one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from worker.engine.loading import LoadedModel, ModelSpec, load_model
from worker.engine.tiny import make_tiny_model
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


@pytest.fixture(scope="session", autouse=True)
def _offline_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test may reach the Hugging Face hub or touch the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))
        patch.setenv("TOKENIZERS_PARALLELISM", "false")
        yield


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> Iterator[None]:
    """The tiny model gains nothing from threads, and on a busy CPU they spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny(tiny_model_dir: Path) -> LoadedModel:
    return load_model(ModelSpec(str(tiny_model_dir)))


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


@pytest.fixture
def items() -> list[Item]:
    return make_items()


@pytest.fixture
def item_maker() -> type[_ItemMaker]:
    return _ItemMaker


class _ItemMaker:
    """Lets a test build its own item set: `item_maker.make(n, seed)`."""

    make = staticmethod(make_items)
