"""Browser-test fixtures: Debian's Chromium driven by Playwright, screenshots, the checks run
in every page (accessibility, keyboard reach), and the evaluation fixtures the walk needs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# The real Celery workers and broker of the evaluation tests, and its tiny model.
from tests.apps.evaluations.conftest import broker, celery, key_prefix, tiny_model_path  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
A11Y_SCRIPT = (Path(__file__).parent / "a11y.js").read_text()
KEYBOARD_SCRIPT = (Path(__file__).parent / "keyboard.js").read_text()
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, headless; `playwright install` is never used (no internet for it)."""
    assert CHROMIUM.exists(), "apt-get install chromium (make services does it)"
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": DESKTOP, "accept_downloads": True}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "celery_worker: runs real Celery worker or beat processes (Redis, PostgreSQL)"
    )


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


def accessibility_problems(page: Any) -> list[str]:
    return list(page.evaluate(A11Y_SCRIPT))


def keyboard_unreachable(page: Any) -> list[str]:
    """Tab through the page; every visible control must receive focus."""
    targets = page.evaluate(KEYBOARD_SCRIPT)
    page.locator("body").focus()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen: set[str] = set()
    for _ in range(targets + 10):
        page.keyboard.press("Tab")
        mark = page.evaluate("() => document.activeElement && document.activeElement.dataset.kbd")
        if mark is not None:
            seen.add(mark)
        if len(seen) == targets:
            break
    missing = [str(i) for i in range(targets) if str(i) not in seen]
    return [
        page.evaluate(f"() => document.querySelector('[data-kbd=\"{i}\"]').outerHTML.slice(0, 120)")
        for i in missing
    ]


class PageChecks:
    """Screenshots and the per-page checks; problems are collected and asserted at the end."""

    def __init__(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.problems: dict[str, list[str]] = {}
        self.shots: list[Path] = []

    def check(self, page: Any, name: str, *, tablet: bool = True) -> None:
        page.wait_for_load_state("networkidle")
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        problems = accessibility_problems(page) + [
            f"not reachable by keyboard: {html}" for html in keyboard_unreachable(page)
        ]
        if problems:
            self.problems[name] = problems
        if tablet:
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.set_viewport_size(TABLET)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > TABLET["width"] + 1:
                self.problems.setdefault(name, []).append(
                    f"scrolls sideways at tablet width ({width}px)"
                )
            tablet_path = SCREENSHOTS / f"{name}-tablet.png"
            page.screenshot(path=str(tablet_path), full_page=True)
            self.shots.append(tablet_path)
            page.set_viewport_size(DESKTOP)

    def assert_clean(self) -> None:
        assert not self.problems, json.dumps(self.problems, indent=1)


@pytest.fixture
def checks() -> Iterator[PageChecks]:
    yield PageChecks()
