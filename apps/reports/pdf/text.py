"""Field text as a document shows it: Markdown rendered, then cleaned to an allow-list.

Field values are Markdown (CHAI: "all text fields allow Markdown"). markdown-it-py renders
them with raw HTML disabled; nh3 then keeps only the tags below, with no attributes, so a
link prints as its text and nothing in a value can fetch, script or style anything.
"""

from __future__ import annotations

import functools

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr",
        "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "s",
    }
)  # fmt: skip


@functools.cache
def _parser() -> MarkdownIt:
    # commonmark with html off: a "<script>" in a value is text, never markup; no images.
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").disable("image")
    )


def markdown_html(value: str) -> SafeString:
    """The value's Markdown as sanitised HTML (safe to insert in the card template)."""
    rendered = _parser().render(value)
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        attributes={},
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )
    return mark_safe(cleaned)  # noqa: S308 - nh3 allow-list output, no attributes at all
