"""What every step of the tour shares: the demo's fixed moment and how it prints."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

# The bundled customers, authorizations and procedures: one customer per row of the rules table.
DATASET = Path(__file__).parent
# Monday 9:00 in California: the moment every demo answer is judged at.
DEMO_NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def say(text: str = "") -> None:
    print(text, flush=True)


def banner(title: str) -> None:
    say()
    say("#" * 100)
    say(f"# {title}")
    say("#" * 100)


def indent(text: str) -> str:
    """Text shown as the agent sees it, set off from the tour's own lines."""
    return "\n".join(f"  | {line}" for line in text.splitlines())


@contextlib.contextmanager
def quiet(logger: str) -> Iterator[None]:
    """The logger's INFO lines held back while the tour's own lines tell what happens (warnings still show)."""
    held = logging.getLogger(logger)
    level = held.level
    held.setLevel(logging.WARNING)
    try:
        yield
    finally:
        held.setLevel(level)
