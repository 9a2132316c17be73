"""The import rules of the layers, read from the source with ``ast`` (nothing is imported).

- ``domain`` is pure: no web framework, no database, no sandbox, no entrypoint.
- ``service`` drives ports: it never reaches into the sandbox network (a test network served by
  Payez itself), the entrypoints or the web framework.
- The entrypoints' modules import one another in one direction only (no cycle), so the wiring
  (``composition``) and the web app do not depend on each other both ways.

Every import counts, at the top of a module, inside a function or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PAYEZ = SRC / "payez"

SERVICE_MAY_NOT_IMPORT = ("payez.sandbox", "payez.entrypoints", "fastapi", "starlette")
DOMAIN_MAY_NOT_IMPORT = (*SERVICE_MAY_NOT_IMPORT, "sqlalchemy")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, imported module, names taken from it) of every absolute import in ``path``;
    relative imports are resolved against the module's package."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module, tuple(alias.name for alias in node.names)


def is_within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def forbidden_imports(layer: str, roots: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((PAYEZ / layer).rglob("*.py")):
        for line, module, _names in imports_of(path):
            if is_within(module, roots):
                found.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    return found


def test_the_service_layer_imports_no_sandbox_entrypoint_or_web_framework() -> None:
    assert forbidden_imports("service", SERVICE_MAY_NOT_IMPORT) == []


def test_the_domain_is_pure() -> None:
    assert forbidden_imports("domain", DOMAIN_MAY_NOT_IMPORT) == []


def import_graph(package: Path) -> dict[str, set[str]]:
    """Which module of ``package`` imports which other module of it. ``from a import b``
    counts as importing ``a.b`` when ``b`` is a module, else ``a``."""
    modules = {module_name(p): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _line, module, names in imports_of(path):
            targets = [f"{module}.{n}" if f"{module}.{n}" in modules else module for n in names]
            for target in targets or [module]:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_entrypoints_import_each_other_in_one_direction() -> None:
    assert cycles(import_graph(PAYEZ / "entrypoints")) == []


def test_composition_and_the_web_app_do_not_import_each_other() -> None:
    graph = import_graph(PAYEZ / "entrypoints")
    composition, web_app = "payez.entrypoints.composition", "payez.entrypoints.web.app"
    assert not (web_app in graph[composition] and composition in graph[web_app])
    assert composition not in graph[web_app]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(graph) == expected
