"""Evaluation fixtures: a suite of all four checks (or knowledge only) on the tiny model.

The builders are in tests/builders/evaluations.py; the tiny model and the real worker
processes are fixtures of tests/builders/workers.py (registered in tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.builders.evaluations import EvalSetup, make_setup


@pytest.fixture
def setup(personas: Any, tiny_model_path: Path, tmp_path: Path) -> EvalSetup:
    return make_setup(personas.org, tiny_model_path, tmp_path)


@pytest.fixture
def knowledge_setup(personas: Any, tiny_model_path: Path, tmp_path: Path) -> EvalSetup:
    """One check, twelve items: for tests about shards rather than checks."""
    return make_setup(personas.org, tiny_model_path, tmp_path, checks=("knowledge",))
