"""The house plan's size limits: no module over 500 lines, no function over 60 lines unless a
`# long: <reason>` comment on the line above its `def` (or first decorator) says why.

Migrations are generated and left out. A long function that reads better whole (a linear
schema or document builder) states its reason; anything else is split into named helpers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("apps", "worker", "governance")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
REASON_MARK = "# long:"


def sources(root: Path = ROOT) -> list[Path]:
    """Every Python module of the checked packages, migrations excluded."""
    return sorted(
        path
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.relative_to(root).parts
    )


def long_modules(paths: Iterable[Path]) -> list[str]:
    """'path: N lines' for each module over the limit."""
    found = []
    for path in paths:
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_MODULE_LINES:
            found.append(f"{path}: {count} lines")
    return found


def long_functions(source: str) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length) of each function over the limit with no reason.

    A function's length runs from its first decorator (or `def`) to its last line, docstring
    and nested functions included; a nested function is also measured on its own.
    """
    lines = source.splitlines()
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                length = (child.end_lineno or child.lineno) - start + 1
                if length > MAX_FUNCTION_LINES and not _has_reason(lines, start):
                    found.append((prefix + child.name, start, length))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def _has_reason(lines: list[str], start: int) -> bool:
    above = lines[start - 2].strip() if start >= 2 else ""
    return above.startswith(REASON_MARK) and bool(above[len(REASON_MARK) :].strip())


def test_no_module_is_over_500_lines() -> None:
    assert long_modules(sources()) == []


def test_no_function_is_over_60_lines_without_a_stated_reason() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in sources()
        for name, line, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "split these, or state why above the def: '# long: <reason>'"


def test_the_checked_tree_is_the_real_one() -> None:
    # Guards against a path change that would make the two tests above check nothing.
    paths = sources()
    assert ROOT / "apps" / "reports" / "document.py" in paths
    assert ROOT / "worker" / "tasks.py" in paths
    assert not any("migrations" in p.parts for p in paths)


def _function(name: str, body_lines: int, above: str = "", decorator: str = "") -> str:
    head = [above] if above else []
    head += [decorator] if decorator else []
    body = [f"    x{i} = {i}" for i in range(body_lines)]
    return "\n".join(["import functools", "", *head, f"def {name}() -> None:", *body, ""])


def test_a_function_over_60_lines_is_found() -> None:
    assert long_functions(_function("grown", 60)) == [("grown", 3, 61)]
    assert long_functions(_function("fits", 59)) == []


def test_a_stated_reason_above_the_def_or_decorator_allows_it() -> None:
    assert long_functions(_function("builder", 80, above="# long: one linear schema")) == []
    decorated = _function("cached", 80, above="# long: a table", decorator="@functools.cache")
    assert long_functions(decorated) == []


def test_a_reason_must_say_something_and_sit_directly_above() -> None:
    assert long_functions(_function("empty", 80, above="# long:")) == [("empty", 4, 81)]
    misplaced = _function("late", 80, decorator="@functools.cache").replace(
        "@functools.cache", "@functools.cache\n# long: below the decorator"
    )
    assert [name for name, _, _ in long_functions(misplaced)] == ["late"]


def test_methods_and_nested_functions_are_measured() -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(70))
    method = f"class Check:\n    def compute(self) -> None:\n{body}\n"
    assert long_functions(method) == [("Check.compute", 2, 71)]
    nested = f"def outer() -> None:\n    def inner() -> None:\n{body}\n"
    assert long_functions(nested) == [("outer", 1, 72), ("outer.inner", 2, 71)]


def test_a_module_over_500_lines_is_found(tmp_path: Path) -> None:
    big, small = tmp_path / "big.py", tmp_path / "small.py"
    big.write_text("x = 1\n" * 501)
    small.write_text("x = 1\n" * 500)
    assert long_modules([big, small]) == [f"{big}: 501 lines"]
