"""Canned steps: checking and filling the templates a support lead edits.

A template is plain text with ``string.Template`` placeholders (``$company``, ``${ticket_id}``).
Lines whose first non-blank character is ``#`` are notes for the support lead and are never posted.
``$$`` is a literal dollar sign.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from types import MappingProxyType

# The only names a template may use, and what the bot fills in for each.
PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "authorization_count": "how many of the company's authorizations the customer has to revoke",
        "check_back_date": 'the day to check again, e.g. "Friday, December 4"',
        "company": 'the company the customer authorizes (setting, "OhmConnect" by default)',
        "ticket_id": "the helpdesk ticket the steps are posted to",
        "reasons": "why the case is escalated, in words (escalation note only)",
        "verification_days": 'how long the utility takes to verify, e.g. "5-7 days" (commands/policy.py)',
    }
)


@dataclass(frozen=True)
class StepTemplate:
    """One canned-steps template: its name (file name without ``.txt``) and its raw text."""

    name: str
    text: str


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def postable_text(text: str) -> str:
    """The text without comment lines, runs of blank lines squeezed to one, trimmed."""
    kept = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n") if not is_comment(line)]
    squeezed = re.sub(r"\n{3,}", "\n\n", "\n".join(kept))
    return squeezed.strip("\n")


def validate_template(name: str, text: str) -> list[str]:
    """Every problem in the template, each naming its line; an empty list means it is usable."""
    problems: list[str] = []
    if not postable_text(text).strip():
        problems.append(f"{name}: nothing to post (the file is empty or only has # comment lines)")
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if is_comment(line):
            continue
        for match in Template.pattern.finditer(line):
            placeholder = match.group("named") or match.group("braced")
            if match.group("invalid") is not None:
                problems.append(
                    f"{name} line {number}: '$' must be followed by a placeholder name "
                    f"(write $$ for a dollar sign): {_excerpt(line, match.start())}"
                )
            elif placeholder is not None and placeholder not in PLACEHOLDERS:
                problems.append(
                    f"{name} line {number}: unknown placeholder ${placeholder} "
                    f"(allowed: {', '.join('$' + known for known in PLACEHOLDERS)})"
                )
    return problems


def placeholders_used(template: StepTemplate) -> frozenset[str]:
    """The placeholder names the postable part of the template uses."""
    return frozenset(
        match.group("named") or match.group("braced")
        for match in Template.pattern.finditer(postable_text(template.text))
        if match.group("named") or match.group("braced")
    )


def render(template: StepTemplate, values: Mapping[str, str]) -> str:
    """The text to post: comments stripped, placeholders filled from ``values``.

    Raises ``ValueError`` if the template is invalid or a placeholder it uses has no value.
    """
    problems = validate_template(template.name, template.text)
    if problems:
        raise ValueError("; ".join(problems))
    missing = sorted(placeholders_used(template) - set(values))
    if missing:
        raise ValueError(f"{template.name}: no value for {', '.join('$' + name for name in missing)}")
    return Template(postable_text(template.text)).substitute(values)


def _excerpt(line: str, at: int) -> str:
    return repr(line[max(0, at - 15) : at + 15].strip())
