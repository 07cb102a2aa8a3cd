"""Fixtures for the engine tests: one tiny model per session, loaded like a real one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.builders.items import make_items
from worker.engine.loading import LoadedModel, ModelSpec, load_model
from worker.engine.tiny import make_tiny_model
from worker.engine.types import Item


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


@pytest.fixture
def items() -> list[Item]:
    return make_items()


@pytest.fixture
def item_maker() -> type[_ItemMaker]:
    return _ItemMaker


class _ItemMaker:
    """Lets a test build its own item set: `item_maker.make(n, seed)`."""

    make = staticmethod(make_items)
