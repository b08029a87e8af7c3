"""The canned-steps templates on disk: one ``.txt`` file per (utility, recommendation), plus escalation.

The packaged files live in ``bot/features/post_steps/templates/``; a support lead can point ``TEMPLATES_DIR`` at a copy
to change the wording without a release. Every file is checked at load time, so a typo stops the
bot at start-up with the file and line, not when an agent clicks "Post steps to ticket".
"""

from __future__ import annotations

from pathlib import Path

from commands.policy import Utility
from commands.post_steps import StepTemplate, validate_template, wait_contradictions
from commands.rules import Action

PACKAGED_DIR = Path(__file__).resolve().parent / "templates"

UTILITIES = ("sce", "pge", "sdge")
ACTIONS_WITH_STEPS = ("reauth", "connect", "wait")
ESCALATE = "escalate"
TEMPLATE_NAMES: tuple[str, ...] = (
    *(f"{utility}_{action}" for utility in UTILITIES for action in ACTIONS_WITH_STEPS),
    ESCALATE,
)

# How people and feeds spell the utilities; the template files use the short lower-case names.
_UTILITY_ALIASES = {"sce": "sce", "pge": "pge", "pg&e": "pge", "sdge": "sdge", "sdg&e": "sdge"}


class TemplateError(Exception):
    """One or more template files are missing or broken; the message lists every problem."""

    def __init__(self, directory: Path, problems: list[str]) -> None:
        self.directory = directory
        self.problems = list(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} problem(s) with the step templates in {directory}:\n{listing}")


def template_name(utility: str, action: str) -> str:
    """The template for a recommendation: ("SCE", "REAUTH") → "sce_reauth"; any ESCALATE → "escalate".

    Raises ``ValueError`` for an action with no steps to post (HEALTHY) or an unknown utility.
    """
    act = str(action).strip().lower()
    if act == ESCALATE:
        return ESCALATE
    if act not in ACTIONS_WITH_STEPS:
        raise ValueError(f"no canned steps for recommendation {action!r}")
    key = _UTILITY_ALIASES.get(str(utility).strip().lower())
    if key is None:
        raise ValueError(f"no canned steps for utility {utility!r} (expected SCE, PGE or SDGE)")
    return f"{key}_{act}"


def _contradictions(name: str, file_name: str, text: str) -> list[str]:
    """A wait that contradicts the date the template gives (see `wait_contradictions`)."""
    if name == ESCALATE:
        return []
    utility, action = name.split("_", 1)
    return wait_contradictions(file_name, text, Utility[utility.upper()], Action[action.upper()])


def load_templates(directory: Path | None = None) -> dict[str, StepTemplate]:
    """Read and check every template in ``directory`` (default: the packaged ones).

    Raises ``TemplateError`` listing every missing, unexpected, unreadable or invalid file.
    """
    folder = PACKAGED_DIR if directory is None else Path(directory)
    if not folder.is_dir():
        raise TemplateError(folder, [f"{folder} is not a folder"])
    templates: dict[str, StepTemplate] = {}
    problems: list[str] = []
    present = {path.stem: path for path in folder.glob("*.txt")}
    for name in TEMPLATE_NAMES:
        path = present.get(name)
        if path is None:
            problems.append(f"{name}.txt: missing")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{path.name}: cannot be read as UTF-8 text ({error})")
            continue
        file_problems = validate_template(path.name, text) + _contradictions(name, path.name, text)
        problems.extend(file_problems)
        if not file_problems:
            templates[name] = StepTemplate(name, text)
    # A misspelt file name would otherwise be ignored while the real one is reported missing.
    problems.extend(
        f"{name}.txt: unexpected file (expected {', '.join(TEMPLATE_NAMES)})"
        for name in sorted(present.keys() - set(TEMPLATE_NAMES))
    )
    if problems:
        raise TemplateError(folder, problems)
    return templates
