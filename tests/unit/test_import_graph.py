"""The package-level import graph of xeonfleet/ and facts/ (mapped to xeonfleet.facts) has the shape of the
design: arrows point down (no cycle between packages), nothing imports the CLI, and what runs on a node
imports nothing of the controller.

Read with `ast`, not by importing: every import counts, at module top, inside functions (deferred imports
are still dependencies) and under TYPE_CHECKING (a type is a dependency too). A package is the first two
dotted parts of a module (xeonfleet.knobs.power -> xeonfleet.knobs; xeonfleet.profiles is its own).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Source folder -> the dotted name it is installed as (pyproject's package-dir).
SOURCES = {ROOT / "xeonfleet": "xeonfleet", ROOT / "facts": "xeonfleet.facts"}


def _module_name(path: Path, folder: Path, prefix: str) -> str:
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([prefix, *parts])


def _imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Every xeonfleet module the module imports (relative imports resolved against `module`).

    `from A import b` imports the module A.b when there is one (`from xeonfleet import knobs`), else A
    (`from xeonfleet import __version__` is the package xeonfleet, not a package named __version__)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names.update(f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                         for alias in node.names)
    return {name for name in names if name == "xeonfleet" or name.startswith("xeonfleet.")}


def _package(dotted: str) -> str:
    return ".".join(dotted.split(".")[:2])


def _modules() -> dict[str, set[str]]:
    """Module name -> the xeonfleet modules it imports."""
    sources = {}
    for folder, prefix in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                sources[_module_name(path, folder, prefix)] = path
    known = set(sources)
    return {module: _imported(ast.parse(path.read_text(), filename=str(path)), module,
                              path.name == "__init__.py", known)
            for module, path in sources.items()}


def _package_graph(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imports in modules.items():
        source = _package(module)
        graph[source].update(_package(name) for name in imports if _package(name) != source)
    return graph


def _who_imports(modules: dict[str, set[str]], source: str, target: str) -> list[str]:
    """The modules of package `source` that import package `target` (to name the culprits of a cycle)."""
    return sorted(f"{module} -> {name}" for module, imports in modules.items() if _package(module) == source
                  for name in imports if _package(name) == target)


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None (depth-first search with colours)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_package_graph_is_read_from_every_module() -> None:
    """The walk itself works: it sees the packages and a known arrow (tune builds on knobs)."""
    modules = _modules()
    graph = _package_graph(modules)
    assert {"xeonfleet.knobs", "xeonfleet.tune", "xeonfleet.audit", "xeonfleet.facts", "xeonfleet.node"} <= set(graph)
    assert "xeonfleet.knobs" in graph["xeonfleet.tune"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_cycle_between_packages() -> None:
    modules = _modules()
    cycle = _find_cycle(_package_graph(modules))
    if cycle:
        arrows = [line for a, b in zip(cycle, cycle[1:]) for line in _who_imports(modules, a, b)]
        raise AssertionError("import cycle between packages: " + " -> ".join(cycle) + "\n  " + "\n  ".join(arrows))


def test_nothing_imports_the_cli() -> None:
    modules = _modules()
    offenders = sorted(f"{module} -> {name}" for module, imports in modules.items()
                       if _package(module) != "xeonfleet.cli"
                       for name in imports if _package(name) == "xeonfleet.cli")
    assert offenders == []


def test_node_imports_nothing_of_the_controller() -> None:
    """xeonfleet/node/ runs on the nodes (stdlib only): it may import itself, nothing else of xeonfleet."""
    modules = _modules()
    offenders = sorted(f"{module} -> {name}" for module, imports in modules.items()
                       if _package(module) == "xeonfleet.node"
                       for name in imports if _package(name) != "xeonfleet.node")
    assert offenders == []
