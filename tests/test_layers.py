"""DESIGN.md layering: `commands/` imports no Slack, HTTP or database library, nor `bot` or `models`."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ROOT / "commands"
FORBIDDEN = frozenset(
    {"slack_bolt", "slack_sdk", "httpx", "sqlalchemy", "alembic", "psycopg", "waitress", "bot", "models"}
)
_DYNAMIC_IMPORTERS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module}"


def _is_forbidden(module: str) -> bool:
    return module.split(".", 1)[0] in FORBIDDEN


def forbidden_imports(source: str, file: str, package: str = "commands") -> list[Violation]:
    """Every import in `source` (a module of `package`) that reaches a forbidden top-level package."""
    found: list[Violation] = []
    package_parts = package.split(".") if package else []
    for node in ast.walk(ast.parse(source, filename=file)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                modules = [node.module or ""]
            else:
                keep = len(package_parts) - (node.level - 1)
                base = package_parts[: max(keep, 0)]
                if node.module:
                    modules = [".".join([*base, node.module])]
                else:
                    # `from .. import models`: each name is a module of `base`.
                    modules = [".".join([*base, alias.name]) for alias in node.names]
        elif isinstance(node, ast.Call) and _calls_importer(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                modules = [first.value]
        found.extend(Violation(file, getattr(node, "lineno", 0), m) for m in modules if _is_forbidden(m))
    return found


def _calls_importer(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _DYNAMIC_IMPORTERS
    return isinstance(func, ast.Attribute) and func.attr in _DYNAMIC_IMPORTERS


def command_modules() -> list[Path]:
    return sorted(COMMANDS.rglob("*.py"))


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parent.parts)


def test_commands_import_no_io_library_and_no_other_layer() -> None:
    violations = [
        v
        for path in command_modules()
        for v in forbidden_imports(
            path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), package_of(path)
        )
    ]
    assert not violations, "commands/ must stay plain Python:\n" + "\n".join(map(str, violations))


def test_the_walker_sees_the_real_modules() -> None:
    names = {p.name for p in command_modules()}
    assert {"__init__.py", "rules.py", "reauth_check.py", "policy.py", "scope.py", "importing.py"} <= names
    # The walker reads real imports out of them, so an empty result above is not for want of looking.
    rules = (COMMANDS / "rules.py").read_text(encoding="utf-8")
    with_policy = forbidden_imports(rules.replace("commands.policy", "models.policy"), "commands/rules.py")
    assert [v.module for v in with_policy] == ["models.policy"]


OFFENDING: dict[str, tuple[str, int, str]] = {
    "import": ("import re\nimport sqlalchemy\n", 2, "sqlalchemy"),
    "import submodule as": ("import slack_sdk.models.blocks as blocks\n", 1, "slack_sdk.models.blocks"),
    "from import": ("from httpx import Client\n", 1, "httpx"),
    "from submodule import": ("\n\nfrom sqlalchemy.orm import Session\n", 3, "sqlalchemy.orm"),
    "several on one line": ("import os, alembic\n", 1, "alembic"),
    "bot package": ("from bot.settings import Settings\n", 1, "bot.settings"),
    "models package": ("from models import Database\n", 1, "models"),
    "models submodule": ("import models.records\n", 1, "models.records"),
    "psycopg": ("import psycopg\n", 1, "psycopg"),
    "waitress": ("from waitress import serve\n", 1, "waitress"),
    "slack_bolt": ("from slack_bolt import App\n", 1, "slack_bolt"),
    "inside a function": ("def f() -> None:\n    import httpx\n", 2, "httpx"),
    "under TYPE_CHECKING": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sqlalchemy.orm import Session\n",
        3,
        "sqlalchemy.orm",
    ),
    "in a try block": ("try:\n    import psycopg\nexcept ImportError:\n    pass\n", 2, "psycopg"),
    "relative, parent package": ("from ..models import db\n", 1, "models"),
    "relative, parent package names": ("from .. import bot\n", 1, "bot"),
    "importlib": ("import importlib\nm = importlib.import_module('slack_sdk')\n", 2, "slack_sdk"),
    "__import__": ("m = __import__('sqlalchemy.orm')\n", 1, "sqlalchemy.orm"),
}


@pytest.mark.parametrize(("source", "line", "module"), list(OFFENDING.values()), ids=list(OFFENDING))
def test_the_walker_detects_an_offending_import(source: str, line: int, module: str) -> None:
    assert forbidden_imports(source, "commands/example.py") == [
        Violation("commands/example.py", line, module)
    ]


def test_a_violation_names_file_and_line() -> None:
    (violation,) = forbidden_imports("import os\n\nimport httpx\n", "commands/post_steps.py")
    assert str(violation) == "commands/post_steps.py:3 imports httpx"


ALLOWED: dict[str, str] = {
    "standard library": "import re\nimport csv\nfrom datetime import UTC, datetime\n",
    "own package": "from commands.policy import Utility\nfrom commands import rules\n",
    "own package, relative": "from .policy import Utility\nfrom . import scope\n",
    "names that only start alike": "import botocore\nimport modelsx\nimport httpx_extra\nimport sqlalchemy2",
    "a name, not an import": "models = 1\nbot = 'sqlalchemy'\nprint('import httpx')\n",
    "importlib of an allowed module": "import importlib\nimportlib.import_module('json')\n",
}


@pytest.mark.parametrize("source", list(ALLOWED.values()), ids=list(ALLOWED))
def test_the_walker_allows_plain_python(source: str) -> None:
    assert forbidden_imports(source, "commands/example.py") == []
