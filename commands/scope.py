"""Green Button scope strings, read as tolerantly as real utility feeds require.

Real feeds break the EBNF: trailing ';', capitalised values ("Daily"), unknown function blocks
(UtilityAPI sends 51). Unknown terms are kept opaque rather than rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Scope:
    function_blocks: frozenset[int]
    terms: dict[str, str]

    def missing(self, required: frozenset[int]) -> frozenset[int]:
        return required - self.function_blocks


def parse_scope(text: str | None) -> Scope:
    """Parse `FB=1_3_4;IntervalDuration=900;...`; an empty or unreadable scope has no blocks."""
    blocks: set[int] = set()
    terms: dict[str, str] = {}
    for part in (text or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        key = key.strip()
        if key.upper() == "FB":
            # ASCII digits only: str.isdigit() accepts "²", which int() rejects.
            blocks.update(int(n) for n in value.split("_") if _NUMBER.fullmatch(n.strip()))
        else:
            terms[key.lower()] = value.strip().lower()
    return Scope(frozenset(blocks), terms)
