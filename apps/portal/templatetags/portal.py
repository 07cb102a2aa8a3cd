"""Small display filters for portal templates."""

from __future__ import annotations

from typing import Any

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()


@register.filter
def words(code: Any) -> str:
    """insufficient_data -> insufficient data."""
    return str(code or "").replace("_", " ")


@register.filter
def num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.{int(digits)}f}"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


# Card fields are Markdown from our own builders, but they quote what people typed: raw HTML
# is off in the parser, and nh3 keeps only these tags, without attributes.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})
_TAGS = {
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "br",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


@register.filter
def markdown(text: Any) -> SafeString:
    html = _MARKDOWN.render(str(text or ""))
    return mark_safe(nh3.clean(html, tags=_TAGS, attributes={}))


@register.filter
def split(text: str) -> list[str]:
    return text.split()


@register.filter
def field(form: Any, name: str) -> Any:
    """A bound field of a form by name."""
    return form[name]


@register.filter
def utc(moment: Any) -> str:
    """A time as every signature shows it: ISO 8601 in UTC with a Z."""
    from apps.signoffs.selectors.signatures import utc_iso

    return utc_iso(moment) if moment else "—"


@register.inclusion_tag("portal/_signatures.html", takes_context=True)
def signatures(context: Any, target_type: str, target: Any) -> dict[str, Any]:
    """A signed record's signatures (name, UTC time, meaning; stale ones marked) and a link to
    sign it."""
    from apps.portal.signing import signatures_of

    return {
        "signatures": signatures_of(target_type, target),
        "target_type": target_type,
        "target": target,
        "user": context.get("user"),
        "perms_org": context.get("perms_org"),
        "here": target_type == "evaluation_run",
    }
