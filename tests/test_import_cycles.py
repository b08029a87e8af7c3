"""No import cycle among the project's modules, counting imports inside functions and under TYPE_CHECKING.

A cycle hidden by an import inside a function works until someone moves that import; a type shared by
a package belongs in a leaf module of it instead. Parents are not counted: importing `a.b` runs `a`'s
`__init__` first, and a package that re-exports its own modules is the usual layout, not a cycle.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.import_graph import Import, cycles, import_graph, imports_in

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands", "models", "tests", "bench")


def describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in itertools.pairwise(cycle)]
    return " | ".join(steps)


def test_the_project_has_no_import_cycle() -> None:
    graph = import_graph(ROOT, PACKAGES)
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe(c, graph) for c in found)


def test_the_graph_reads_the_real_project() -> None:
    graph = import_graph(ROOT, PACKAGES)
    # Imports at the top, of a name from a module, of a module from a package, and inside a function.
    assert "bot.settings" in graph["bot.app"]
    assert "commands.rules" in graph["commands.check"]
    assert "bot.messages" in graph["bot.features.check.listeners"]
    assert "models" in graph["bot.context"]
    assert len(graph) > 100


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


CYCLES: dict[str, tuple[dict[str, str], list[str]]] = {
    "at the top": (
        {"app/__init__.py": "", "app/a.py": "from app.b import x\n", "app/b.py": "import app.a\nx = 1\n"},
        ["app.a", "app.b", "app.a"],
    ),
    "inside a function": (
        {
            "app/__init__.py": "",
            "app/cli.py": "from app import digest\nEXIT_OK = 0\n",
            "app/digest.py": "def run() -> int:\n    from app.cli import EXIT_OK\n    return EXIT_OK\n",
        },
        ["app.cli", "app.digest", "app.cli"],
    ),
    "under TYPE_CHECKING": (
        {
            "app/__init__.py": "",
            "app/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.b import B\n",
            "app/b.py": "from app.a import A\n",
        },
        ["app.a", "app.b", "app.a"],
    ),
    "relative, three modules": (
        {
            "app/__init__.py": "",
            "app/sub/__init__.py": "",
            "app/sub/a.py": "from . import b\n",
            "app/sub/b.py": "from ..c import thing\n",
            "app/c.py": "from app.sub.a import f\n",
        },
        ["app.c", "app.sub.a", "app.sub.b", "app.c"],
    ),
    "importlib": (
        {
            "app/__init__.py": "",
            "app/a.py": "import importlib\nimportlib.import_module('app.b')\n",
            "app/b.py": "from app import a\n",
        },
        ["app.a", "app.b", "app.a"],
    ),
}


@pytest.mark.parametrize(("files", "cycle"), list(CYCLES.values()), ids=list(CYCLES))
def test_a_cycle_is_found(tmp_path: Path, files: dict[str, str], cycle: list[str]) -> None:
    write_tree(tmp_path, files)
    assert cycles(import_graph(tmp_path, ("app",))) == [cycle]


NO_CYCLES: dict[str, dict[str, str]] = {
    "a package re-exporting its modules": {
        "app/__init__.py": "from app.a import A\nfrom app.b import B\n",
        "app/a.py": "from app._types import T\nA = 1\n",
        "app/b.py": "from app._types import T\nfrom app.a import A\nB = 2\n",
        "app/_types.py": "T = int\n",
    },
    "one way only": {
        "app/__init__.py": "",
        "app/a.py": "from app import b\n",
        "app/b.py": "import os\nimport json\n",
    },
    "a name that only looks like an import": {
        "app/__init__.py": "",
        "app/a.py": "text = 'from app.b import x'\n",
        "app/b.py": "from app.a import text\n",
    },
}


@pytest.mark.parametrize("files", list(NO_CYCLES.values()), ids=list(NO_CYCLES))
def test_no_cycle_is_invented(tmp_path: Path, files: dict[str, str]) -> None:
    write_tree(tmp_path, files)
    assert cycles(import_graph(tmp_path, ("app",))) == []


def test_relative_imports_are_made_absolute() -> None:
    found = list(imports_in("from . import b\nfrom ..c import d\nimport e.f\n", "x.py", "app.sub"))
    assert found == [Import(1, "app.sub", ("b",)), Import(2, "app.c", ("d",)), Import(3, "e.f")]
    assert [i.candidates() for i in found] == [["app.sub.b"], ["app.c.d"], ["e.f"]]
