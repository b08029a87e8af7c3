"""Every import a module makes, read from its source: at the top, inside functions, under TYPE_CHECKING, in
`try` blocks, and through `importlib.import_module` / `__import__` with a literal name.

The layer test (`test_layers.py`) and the cycle test (`test_import_cycles.py`) both read imports here, so
what counts as an import is decided once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

_DYNAMIC_IMPORTERS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class Import:
    """`import module` (no names), or `from module import names`."""

    line: int
    module: str
    names: tuple[str, ...] = ()

    def candidates(self) -> list[str]:
        """What it may load: `from a import b` loads the module `a.b` if there is one, else `a`."""
        if not self.names:
            return [self.module]
        return [f"{self.module}.{name}" if self.module else name for name in self.names if name != "*"] or [
            self.module
        ]


def imports_in(source: str, file: str, package: str) -> Iterator[Import]:
    """Every import in `source`, made absolute; `package` is the package the module belongs to (its own
    name for an `__init__.py`), where relative imports start."""
    package_parts = package.split(".") if package else []
    for node in ast.walk(ast.parse(source, filename=file)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                keep = len(package_parts) - (node.level - 1)
                module = ".".join([*package_parts[: max(keep, 0)], *([module] if module else [])])
            yield Import(node.lineno, module, tuple(alias.name for alias in node.names))
        elif isinstance(node, ast.Call) and _calls_importer(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield Import(node.lineno, first.value)


def _calls_importer(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _DYNAMIC_IMPORTERS
    return isinstance(func, ast.Attribute) and func.attr in _DYNAMIC_IMPORTERS


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of the named top-level packages under `root`, by dotted name."""
    return {
        module_name(path, root): path
        for top in packages
        for path in sorted((root / top).rglob("*.py"))
        if ".venv" not in path.parts
    }


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """For each project module, the project modules it imports, with the line of the first such import."""
    modules = project_modules(root, packages)
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for found in imports_in(path.read_text(encoding="utf-8"), str(path), package):
            for target in found.candidates():
                # A name imported from a module (`from a.b import name`) stands for that module.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.setdefault(target, found.line)
        graph[name] = edges
    return graph


def cycles(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The import cycles: each strongly connected group of two or more modules, as one path around it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative Tarjan: deep import chains must not hit Python's recursion limit.
        work = [(start, iter(sorted(graph.get(start, {}))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, {})))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(_path_around(sorted(group), graph))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _path_around(group: list[str], graph: Mapping[str, Mapping[str, int]]) -> list[str]:
    """A cycle through the group's first module, found by breadth-first search, ending where it started."""
    members = set(group)
    start = group[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in sorted(graph.get(node, {})):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target in members and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    return [*group, group[0]]
