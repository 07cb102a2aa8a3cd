"""Browser-test builders: the checks run in every page (accessibility, keyboard reach) and
the screenshots, collected per page and asserted at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

SCRIPTS = Path(settings.BASE_DIR) / "tests" / "apps" / "portal"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
A11Y_SCRIPT = (SCRIPTS / "a11y.js").read_text()
KEYBOARD_SCRIPT = (SCRIPTS / "keyboard.js").read_text()
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 900}


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
