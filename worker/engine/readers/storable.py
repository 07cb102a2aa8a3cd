"""Text a database can store: no NUL characters, no lone surrogates, bounded nesting.

JSON can spell both (`"\\u0000"`, `"\\ud800"`) although neither is UTF-8 text; PostgreSQL
refuses them in `text` and `jsonb`, so a file that holds them is refused when it is read,
naming the line and the field, instead of failing every later run that stores its items.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 32  # objects and arrays inside one record; real datasets use 3 or 4

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def unstorable_reason(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL character (\\u0000), which a database cannot store"
    return (
        f"contains a lone UTF-16 surrogate (\\u{ord(char):04x}), which is not Unicode text; "
        "encode characters outside the BMP as a surrogate pair or write them as UTF-8"
    )


def first_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """(field path, reason) of the first unstorable string or too-deep nesting in `value`.

    Iterative, so a deeply nested value cannot exhaust the interpreter's stack.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        current, where, depth = stack.pop()
        if isinstance(current, str):
            reason = unstorable_reason(current)
            if reason is not None:
                return where or "(value)", reason
            continue
        if isinstance(current, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return where or "(value)", f"is nested more than {MAX_DEPTH} levels deep"
            children: list[tuple[Any, str, int]] = []
            if isinstance(current, dict):
                for key, child in current.items():
                    name = f"{where}.{key}" if where else str(key)
                    reason = unstorable_reason(str(key))
                    if reason is not None:
                        return name, f"key {reason}"
                    children.append((child, name, depth + 1))
            else:
                for index, child in enumerate(current):
                    children.append((child, f"{where}[{index}]", depth + 1))
            stack.extend(reversed(children))
    return None


def escape_line(text: str) -> int | None:
    """1-based line of the first NUL or surrogate escape in raw JSON text (for documents)."""
    found = _ESCAPE.search(text)
    return None if found is None else text.count("\n", 0, found.start()) + 1
