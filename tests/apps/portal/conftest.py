"""Browser-test fixtures: Debian's Chromium driven by Playwright, and the page checks.

The checks themselves are in tests/builders/browser.py; the real Celery workers and broker,
and the tiny model, are fixtures of tests/builders/workers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders.browser import DESKTOP, PageChecks

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, headless; `playwright install` is never used (no internet for it)."""
    assert CHROMIUM.exists(), "apt-get install chromium (make services does it)"
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": DESKTOP, "accept_downloads": True}


@pytest.fixture(scope="session")
def _async_unsafe_ok() -> Iterator[None]:
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls (and
    # pytest-django's database setup) are still plain synchronous code.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if saved is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def checks() -> Iterator[PageChecks]:
    yield PageChecks()
