"""The import rules of STYLE.md, checked on the source: no import cycle (function-level imports
included: a lazy import that closes a loop is the loop, moved out of sight), and the providers
package imports nothing above it.

Imports under `if TYPE_CHECKING:` are left out: they never run, and the routing strategies use them
on purpose to name the routing table's types (the table imports the schema, which imports them).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

PACKAGES = ("routerapp", "dashboard")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imported_names(name: str, path: Path, known: dict[str, Path]) -> list[str]:
    """Every module name `name` imports when it runs, at module level or inside functions."""
    tree = ast.parse(path.read_text())
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..y import z
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from package import module` imports the module; `from module import name` the module.
            targets += [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    return targets


def runtime_imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports (each name resolved to the module that defines it)."""
    imported = set()
    for target in imported_names(name, path, known):
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            imported.add(target)
    return imported


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: runtime_imports(name, path, known) for name, path in known.items()}


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 100 and graph["routerapp.routing"]  # the scan found the code
    assert cycles(graph) == []


def test_a_cycle_would_be_found():
    # The check itself: a loop through a function-level import is reported.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_providers_import_nothing_above_them():
    # Adapters speak wire protocols: no routing decisions, no views, no ninja (STYLE.md).
    known = modules()
    allowed = ("routerapp.providers", "routerapp.errors")
    for name, path in known.items():
        if not name.startswith("routerapp.providers"):
            continue
        names = imported_names(name, path, known)
        above = {n for n in names if n.startswith(("routerapp", "dashboard")) and not n.startswith(allowed)}
        assert above == set(), f"{name} imports {above}"
        assert not [n for n in names if n.startswith(("ninja", "django.http", "django.views"))], name
