"""The browser checks themselves find what they look for (else a clean walk proves nothing)."""

from __future__ import annotations

from typing import Any

from tests.builders.browser import accessibility_problems, keyboard_unreachable

BAD_PAGE = """<!doctype html><html><body>
<h1>One</h1><h1>Two</h1>
<input name="unlabelled">
<button></button>
<p style="color:#999;background:#fff">Pale grey text</p>
<svg role="img"></svg>
<div id="x"></div><div id="x"></div>
<a href="/somewhere" tabindex="-1">Unreachable link</a>
</body></html>"""

GOOD_PAGE = """<!doctype html><html lang="en"><body>
<h1>Title</h1><label for="q">Query</label><input id="q" name="q">
<button>Search</button><p style="color:#1b2430">Dark text</p>
<svg role="img" aria-label="A chart"></svg><a href="/x">A link</a>
</body></html>"""


def test_the_accessibility_check_reports_each_kind_of_problem(page: Any) -> None:
    page.set_content(BAD_PAGE)
    problems = "\n".join(accessibility_problems(page))
    for expected in (
        "html has no lang attribute",
        "page has 2 h1 elements",
        "form control without a label: input[name=unlabelled]",
        "button or link without a name: button",
        "contrast 2.85:1",
        "image without a text alternative: svg",
        "duplicate id x",
    ):
        assert expected in problems, (expected, problems)
    unreachable = keyboard_unreachable(page)
    assert len(unreachable) == 1 and "Unreachable link" in unreachable[0], unreachable


def test_a_correct_page_passes_both_checks(page: Any) -> None:
    page.set_content(GOOD_PAGE)
    assert accessibility_problems(page) == []
    assert keyboard_unreachable(page) == []


def test_a_radio_group_is_one_tab_stop_and_counts_as_reached(page: Any) -> None:
    radios = "".join(
        f'<label><input type="radio" name="meaning" value="{v}"> {v}</label>'
        for v in ("reviewed", "approved", "rejected")
    )
    page.set_content(
        f'<html lang="en"><body><main><h1>Sign</h1><form><fieldset><legend>Meaning</legend>'
        f'{radios}</fieldset><button type="submit">Sign</button></form></main></body></html>'
    )
    assert keyboard_unreachable(page) == []
    # A control that Tab never reaches is still found next to the group.
    page.set_content(
        f'<html lang="en"><body><main><h1>Sign</h1><form>{radios}'
        '<button type="submit" tabindex="-1">Unreachable</button></form></main></body></html>'
    )
    unreachable = keyboard_unreachable(page)
    assert len(unreachable) == 1 and "Unreachable" in unreachable[0], unreachable
