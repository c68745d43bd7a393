"""The tail package's import graph: no cycles, layers as its docstring lists them, no UI.

Every import counts (module level, inside functions, under TYPE_CHECKING): a lazy import is
still a dependency, and a cycle through one is still a cycle to untangle before moving code.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import twilio_es_cli.tail

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "twilio_es_cli"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (``from pkg import mod`` names the module)."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(filter(None, (known(alias.name) for alias in node.names)))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = full if full in modules else known(node.module)
                    if target:
                        deps.add(target)
        deps.discard(name)
        deps.discard("twilio_es_cli")  # __init__: __version__ only
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


TAIL = "twilio_es_cli.tail"


def test_no_import_cycle_passes_through_the_tail_package() -> None:
    tangled = [c for c in cycles(import_graph()) if any(m.startswith(TAIL) for m in c)]
    assert tangled == []


def test_each_tail_module_imports_only_those_listed_before_it() -> None:
    """The package docstring lists the modules in layers; it stays true."""
    doc = twilio_es_cli.tail.__doc__ or ""
    order = re.findall(r"^- ``(\w+)``", doc, re.M)
    graph = import_graph()
    package = {m.removeprefix(f"{TAIL}.") for m in graph if m.startswith(f"{TAIL}.")}
    assert sorted(order) == sorted(package), "the docstring lists every module, once"
    for position, name in enumerate(order):
        inside = {d.removeprefix(f"{TAIL}.") for d in graph[f"{TAIL}.{name}"] if d.startswith(TAIL)}
        later = inside - set(order[:position])
        assert not later, f"tail.{name} imports {sorted(later)}, listed after it"


def test_tail_core_never_imports_the_cli_or_the_terminal_renderer() -> None:
    for name, deps in import_graph().items():
        if name.startswith(TAIL):
            ui = {d for d in deps if d.startswith("twilio_es_cli.cli") or d.endswith(".output")}
            assert not ui, f"{name} imports {sorted(ui)}"


def test_the_graph_sees_lazy_and_type_checking_imports() -> None:
    """The test above would pass vacuously if imports inside functions were missed."""
    graph = import_graph()
    assert "twilio_es_cli.tail.efo" in graph["twilio_es_cli.tail.runner"]  # inside a function
    assert "twilio_es_cli.tail.pipeline" in graph["twilio_es_cli.tail.stats"]  # TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
