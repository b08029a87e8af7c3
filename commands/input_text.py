"""Text an agent typed, or a payload carried, that the bot must not store or act on.

NUL and the other C0/C1 control characters (Unicode category Cc) never belong in a customer e-mail, an
id, a ticket reference, a reason or a note: PostgreSQL refuses NUL in text outright, and the others end
up in logs, CSV files and Slack messages where they break lines or fake them. They are refused where
the text comes in, with a message saying so, before anything is looked up or written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# Multi-line fields (a note, a pasted message) legitimately carry line breaks and tabs.
_LINE_BREAKS = frozenset("\t\n\r")

# Button values and ids this bot makes fit well within a 64-bit integer; anything longer is not ours.
MAX_ID_DIGITS = 18


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """True when `text` holds a control character (tab and line breaks allowed in multi-line fields)."""
    return any(
        unicodedata.category(c) == "Cc" and not (multiline and c in _LINE_BREAKS) for c in text
    )


def control_character_fields(data: Any, path: str = "") -> Iterator[str]:
    """The paths (`a.b.0.c`) of every string in a decoded payload that holds a control character other
    than a tab or a line break: Slack's own text (a message, its blocks) may be multi-line."""
    if isinstance(data, str):
        if has_control_characters(data, multiline=True):
            yield path
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from control_character_fields(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, Sequence) and not isinstance(data, bytes | bytearray):
        for index, value in enumerate(data):
            yield from control_character_fields(value, f"{path}.{index}" if path else str(index))


def record_id(text: str) -> int | None:
    """A database id carried in a button's value, or None when it is not a plain id this bot made
    (so `99999999999999999999` never reaches a BIGINT column and 5,000 digits never reach `int()`)."""
    if not text or len(text) > MAX_ID_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)
