"""The house plan, enforced on the import graph (CONTRIBUTING.md, "Layers").

The graph holds every module of apps/, worker/ and governance/ and every import between them,
read with `ast` (nothing is imported): module-level imports, imports inside functions and
imports under `if TYPE_CHECKING:` alike. A function-level import that breaks a cycle at run
time, or a type-only import, still makes the two modules depend on each other in design
terms, so both count. `from package import name` depends on `package.name` when that is a
module, else on the package (whose __init__ then runs).

Rules:
- no import cycle anywhere in the graph;
- `apps.common` (the ground floor) imports no domain app;
- services, selectors and models never import the task layer (`worker.tasks`): callers
  enqueue, services decide;
- the engine (`worker.engine`) imports nothing of the platform (no Django either: that is
  tests/worker/test_no_django.py);
- no test module imports a conftest: shared helpers live in tests/builders/.

The finder is tested on synthetic graphs below, so a broken finder cannot pass silently.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("apps", "worker", "governance")
DOMAIN_APPS = (
    "accounts",
    "registry",
    "evaluations",
    "audit",
    "reports",
    "signoffs",
    "portal",
    "demo",
)


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    kind: str  # "module", "function" or "type-checking"

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}, {self.kind})"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }


class _Collector(ast.NodeVisitor):
    """Every import of one module, with where it sits (module level, function, TYPE_CHECKING)."""

    def __init__(self, name: str, is_package: bool, known: Mapping[str, Path]) -> None:
        self.name, self.known = name, known
        self.package = name if is_package else name.rpartition(".")[0]
        self.functions = 0
        self.type_checking = False
        self.found: list[Import] = []

    def _resolve(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        while parts:  # the longest prefix that is one of our modules
            candidate = ".".join(parts)
            if candidate in self.known:
                return candidate
            parts.pop()
        return None

    def _add(self, dotted: str, line: int) -> None:
        target = self._resolve(dotted)
        if target is None or target == self.name:
            return
        kind = "type-checking" if self.type_checking else "function" if self.functions else "module"
        self.found.append(Import(self.name, target, line, kind))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" not in ast.unparse(node.test):
            self.generic_visit(node)
            return
        saved, self.type_checking = self.type_checking, True
        for child in node.body:
            self.visit(child)
        self.type_checking = saved
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}"
            self._add(full if full in self.known else module, node.lineno)


def find_imports(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> list[Import]:
    known = find_modules(root, packages)
    found: list[Import] = []
    for name, path in known.items():
        collector = _Collector(name, path.name == "__init__.py", known)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found += collector.found
    return found


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle (a path that ends where it began) per strongly connected component of the
    graph that has one, found with Tarjan's algorithm (iterative: the graph may be deep)."""
    nodes = sorted({*graph, *(t for targets in graph.values() for t in targets)})
    edges = {node: sorted(set(graph.get(node, ()))) for node in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    components.append(sorted(component))
    return [_cycle_in(sorted(c), edges) for c in sorted(components)]


def _cycle_in(component: list[str], edges: Mapping[str, list[str]]) -> list[str]:
    """A shortest cycle through the component's first module, staying inside it."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in edges[node]:
            if child == start:
                return [*paths[node], start]
            if child in members and child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    raise AssertionError(f"not a cycle: {component}")  # unreachable for a real component


def graph_of(imports: Iterable[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for edge in imports:
        graph.setdefault(edge.source, set()).add(edge.target)
    return graph


def describe(cycle: list[str], imports: Iterable[Import]) -> str:
    where = {(i.source, i.target): i for i in imports}
    steps = [str(where[(a, b)]) for a, b in zip(cycle, cycle[1:], strict=False)]
    return "cycle:\n  " + "\n  ".join(steps)


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return find_imports()


# The finder itself, on synthetic graphs.


def test_the_finder_finds_a_cycle_and_prints_its_path() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"]}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]


def test_the_finder_finds_nothing_in_a_tree_or_a_diamond() -> None:
    assert find_cycles({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}) == []


def test_the_finder_separates_two_cycles_joined_by_one_edge() -> None:
    graph = {"a": ["b"], "b": ["a", "c"], "c": ["d"], "d": ["c"]}
    assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "c"]]


def test_the_finder_survives_a_long_chain() -> None:
    chain = {f"m{i:05d}": [f"m{i + 1:05d}"] for i in range(5000)}
    assert find_cycles(chain) == []
    chain["m05000"] = ["m00000"]
    assert len(find_cycles(chain)[0]) == 5002


def test_the_reader_sees_function_level_type_only_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "apps" / "common"
    package.mkdir(parents=True)
    (tmp_path / "apps" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "text.py").write_text("from . import tenancy\n")
    (package / "tenancy.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from apps.accounts.models import User\n"
        "def f():\n"
        "    import apps.common.text\n"
    )
    accounts = tmp_path / "apps" / "accounts"
    accounts.mkdir()
    (accounts / "__init__.py").write_text("")
    (accounts / "models.py").write_text("from apps.common.tenancy import *\n")

    found = find_imports(tmp_path, ["apps"])

    assert sorted(map(str, found)) == [
        "apps.accounts.models -> apps.common.tenancy (line 1, module)",
        "apps.common.tenancy -> apps.accounts.models (line 3, type-checking)",
        "apps.common.tenancy -> apps.common.text (line 5, function)",
        "apps.common.text -> apps.common.tenancy (line 1, module)",
    ]
    assert [c[:-1] for c in find_cycles(graph_of(found))] == [
        ["apps.accounts.models", "apps.common.tenancy"]
    ]
    assert [str(i) for i in common_imports_of_domain_apps(found)] == [
        "apps.common.tenancy -> apps.accounts.models (line 3, type-checking)"
    ]


# The rules, on the real tree.


def test_the_graph_covers_the_tree(imports: list[Import]) -> None:
    sources = {i.source for i in imports}
    assert {"apps.common.api", "worker.tasks", "governance.urls"} <= sources
    assert len(imports) > 300


def test_no_import_cycle(imports: list[Import]) -> None:
    cycles = find_cycles(graph_of(imports))
    assert cycles == [], "\n".join(describe(c, imports) for c in cycles)


def common_imports_of_domain_apps(imports: Iterable[Import]) -> list[Import]:
    domain = tuple(f"apps.{app}" for app in DOMAIN_APPS)
    return [
        i
        for i in imports
        if i.source.startswith("apps.common")
        and (i.target.startswith(tuple(f"{d}." for d in domain)) or i.target in domain)
    ]


def test_apps_common_imports_no_domain_app(imports: list[Import]) -> None:
    found = common_imports_of_domain_apps(imports)
    assert found == [], "\n".join(map(str, found))


def test_services_selectors_and_models_never_import_the_task_layer(
    imports: list[Import],
) -> None:
    layers = (".services", ".selectors", ".models")
    found = [
        i
        for i in imports
        if i.target == "worker.tasks" and any(f"{layer}." in f"{i.source}." for layer in layers)
    ]
    assert found == [], "\n".join(map(str, found))


def test_the_engine_imports_nothing_of_the_platform(imports: list[Import]) -> None:
    found = [
        i
        for i in imports
        if i.source.startswith("worker.engine") and not i.target.startswith("worker.engine")
    ]
    assert found == [], "\n".join(map(str, found))


def conftest_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[-1] == "conftest"]
    return found


def test_no_test_module_imports_a_conftest() -> None:
    offenders = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        found = conftest_imports(path)
        if found:
            offenders[relative] = found
    assert offenders == {}, offenders


def test_the_conftest_check_sees_both_import_forms(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_text(
        "from tests.apps.reports.conftest import World\n"
        "import tests.conftest\n"
        "from tests.apps.reports import conftest\n"
        "from tests.builders import World\n"
    )
    assert conftest_imports(path) == [
        "line 1: tests.apps.reports.conftest",
        "line 2: tests.conftest",
        "line 3: tests.apps.reports.conftest",
    ]
