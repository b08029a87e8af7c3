"""Green Button scope strings, read as tolerantly as real utility feeds require: the one parser every source
(CSV imports, the Green Button sync) goes through.

Real feeds break the EBNF of ESPI (`FB=1_3_4;IntervalDuration=900;...`): terms separated by `&` or by
whitespace (the OAuth form of a scope, which OpenESPI's own test data uses: `FB=1_3_4_5 IntervalDuration=3600`),
the whole string URL-encoded (`FB%3D1_3_4_5%3B...`) or quoted, any capitalisation, a trailing `;`, unknown
function blocks (UtilityAPI sends 51). Unknown terms are kept opaque rather than rejected.

A scope without a readable FB term (empty, missing, garbled) is *unknown*: it says nothing about which data
types the customer shares, so it is never a reason to re-authorize.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

# ASCII digits only: str.isdigit() accepts "²", which int() rejects.
_NUMBER = re.compile(r"[0-9]+")
# `;` and `&` separate terms, and so does whitespace, except around `=` and `_` ("FB = 1_ 3" is one term).
_SEPARATORS = re.compile(r"[;&\s]+")
_JOINERS = re.compile(r"\s*([=_])\s*")
_QUOTES = "\"'`"
# A scope is a few hundred characters; a longer string is not read (and cannot be a scope anyway).
_MAX_LENGTH = 4096


@dataclass(frozen=True)
class Scope:
    function_blocks: frozenset[int]
    terms: dict[str, str]

    @property
    def known(self) -> bool:
        """Whether the scope names any function block at all; an unknown scope judges nothing."""
        return bool(self.function_blocks)

    def missing(self, required: frozenset[int]) -> frozenset[int]:
        """The required blocks this scope lacks; none when the scope is unknown (never a reason to redo it)."""
        return required - self.function_blocks if self.known else frozenset()

    def complete(self, required: frozenset[int]) -> bool | None:
        """True or False when the scope is known, None when it is not."""
        return not self.missing(required) if self.known else None


UNKNOWN_SCOPE = Scope(frozenset(), {})


def parse_scope(text: str | None) -> Scope:
    """Parse a scope string in any of the forms real feeds write; unreadable input gives `UNKNOWN_SCOPE`."""
    if not text or len(text) > _MAX_LENGTH:
        return UNKNOWN_SCOPE
    text = text.strip().strip(_QUOTES)
    # URL-encoded once or twice over (a scope copied out of an authorization URL's query string).
    for _ in range(2):
        if "%" not in text:
            break
        text = unquote_plus(text).strip().strip(_QUOTES)
    blocks: set[int] = set()
    terms: dict[str, str] = {}
    for part in _SEPARATORS.split(_JOINERS.sub(r"\1", text)):
        key, sep, value = part.strip(_QUOTES).partition("=")
        if not sep:
            continue
        if key.upper() == "FB":
            blocks.update(int(n) for n in value.split("_") if _NUMBER.fullmatch(n))
        elif key:
            terms[key.lower()] = value.lower()
    return Scope(frozenset(blocks), terms)
