"""Report fixtures: each test's signing keys, and CHAI's published schema.

The model world and the card fixtures (world, fast_pdf, draft) are in tests/builders/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from apps.reports.formats.chai_xml import standards_dir


@pytest.fixture(autouse=True)
def signing_keys(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test's organisations get their signing keys in a fresh directory."""
    path = tmp_path_factory.mktemp("keys")
    settings.CAREALIGN_SIGNING_KEY_DIR = path
    return path


@pytest.fixture
def chai_dir() -> Path:
    """CHAI's published schema beside the clone; its absence fails under CI (.ci/run)."""
    path = standards_dir()
    if not (path / "schema.xsd").is_file():
        message = f"CHAI schema not found at {path} (set CAREALIGN_STANDARDS_DIR)"
        if os.environ.get("CAREALIGN_REQUIRE_STANDARDS"):
            pytest.fail(message)
        pytest.skip(message)
    return path
