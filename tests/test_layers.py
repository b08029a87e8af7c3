"""DESIGN.md layering: `commands/` imports no Slack, HTTP or database library, nor `bot` or `models`."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.import_graph import imports_in

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ROOT / "commands"
FORBIDDEN = frozenset(
    {"slack_bolt", "slack_sdk", "httpx", "sqlalchemy", "alembic", "psycopg", "waitress", "bot", "models"}
)


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
    return [
        Violation(file, found.line, module)
        for found in imports_in(source, file, package)
        # `from .. import models`: with no module above, each name is a top-level module.
        for module in ([found.module] if found.module else list(found.names))
        if _is_forbidden(module)
    ]


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
    assert {"__init__.py", "rules.py", "check.py", "policy.py", "scope.py", "imports.py"} <= names
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
    "models submodule": ("import models.check\n", 1, "models.check"),
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


def test_importing_every_commands_module_loads_no_io_library() -> None:
    # What the walker reads is what is written; this is what Python really loads, the whole package at once.
    modules = [".".join(path.relative_to(ROOT).with_suffix("").parts) for path in command_modules()]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
