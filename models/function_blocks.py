"""A scope's Green Button function blocks as an integer bitmask, so SQL can judge scopes the way Python does.

The digest classifies a million customers in SQL; matching `FB=1_3_4_5` with LIKE patterns cannot follow
`commands.scope.parse_scope` (whitespace, repeated FB terms, `13` versus `1`). So each authorization
stores the mask `parse_scope` gives, computed when the row is written, and SQL only tests bits.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from commands.scope import parse_scope

# Bit n stands for FB n. A signed 64-bit integer holds FB 0 to 62; higher (vendor) blocks are not kept,
# which is harmless while no utility requires one (`required_mask` refuses that).
MAX_MASKED_BLOCK = 62
# An unknown scope (empty or unreadable) is every bit set: `mask & required = required` holds, so SQL, like
# `Scope.missing`, never finds it incomplete. No known scope has the sign bit, so it is told apart.
UNKNOWN_SCOPE_MASK = -1


@lru_cache(maxsize=4096)
def function_block_mask(scope: str | None) -> int:
    """The bitmask of the function blocks `scope` grants, as `parse_scope` reads them."""
    parsed = parse_scope(scope)
    if not parsed.known:
        return UNKNOWN_SCOPE_MASK
    mask = 0
    for block in parsed.function_blocks:
        if 0 <= block <= MAX_MASKED_BLOCK:
            mask |= 1 << block
    return mask


def required_mask(blocks: Iterable[int]) -> int:
    """The bitmask of required function blocks; a block the mask cannot hold is a configuration error."""
    mask = 0
    for block in blocks:
        if not 0 <= block <= MAX_MASKED_BLOCK:
            raise ValueError(f"function block {block} cannot be required: SQL masks hold FB 0-{MAX_MASKED_BLOCK}")
        mask |= 1 << block
    return mask
