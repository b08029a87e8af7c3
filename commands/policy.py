"""Every threshold the recommendation rules use, each marked as a documented fact or a policy choice.

One place for these numbers, so that the rules, the canned steps and the digest always agree.
Sources are in ../shared/research/domain-anchors.md (sections 1, 3 and 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Utility(StrEnum):
    SCE = "SCE"
    PGE = "PGE"
    SDGE = "SDGE"

    @property
    def display_name(self) -> str:
        return _DISPLAY_NAMES[self]


_DISPLAY_NAMES = {Utility.SCE: "SCE", Utility.PGE: "PG&E", Utility.SDGE: "SDG&E"}

# Green Button function blocks by number (GBA espi/authorization_scope.md), for the data the agent
# is told is missing.
FUNCTION_BLOCK_NAMES: dict[int, str] = {
    1: "Common Data Custodian",
    3: "Core Connect My Data",
    4: "Interval Metering",
    5: "Interval Electricity Metering",
    15: "Usage Summary",
}

# POLICY: the blocks that carry the interval usage data demand-response settlement needs
# (common, core CMD, interval metering, interval electricity metering). Configuration per utility.
_INTERVAL_AND_USAGE = frozenset({1, 3, 4, 5})


@dataclass(frozen=True)
class UtilityPolicy:
    """What the rules need to know about one utility."""

    required_function_blocks: frozenset[int]
    # FACT-derived for SCE ("up to 5-7 days", contact support after a week) and PG&E (reconnect
    # "4-6 days", contact support after a week); POLICY for SDG&E, which publishes no figure.
    wait_days: int
    # FACT (SCE 5-7 days, PG&E reconnect 4-6 days); SDG&E: POLICY, same as SCE. Told to customers and agents.
    verification_days: tuple[int, int]
    # How long a first connection can take, which is the date a customer sent the connect steps is given.
    # FACT: PG&E "up to 2 weeks", SCE "up to 7 days" (domain-anchors.md section 4); SDG&E: POLICY, as SCE.
    first_connection_days: int = 7

    @property
    def verification_days_text(self) -> str:
        low, high = self.verification_days
        return f"{low}-{high} days"


UTILITIES: dict[Utility, UtilityPolicy] = {
    Utility.SCE: UtilityPolicy(_INTERVAL_AND_USAGE, wait_days=7, verification_days=(5, 7)),
    Utility.PGE: UtilityPolicy(_INTERVAL_AND_USAGE, wait_days=7, verification_days=(4, 6), first_connection_days=14),
    Utility.SDGE: UtilityPolicy(_INTERVAL_AND_USAGE, wait_days=7, verification_days=(5, 7)),
}

# DESIGN (rule 1): "connected" means enrollment verified and meter data received within this window.
# FACT-derived: the help articles' trigger is "if you haven't been connected for a week".
DATA_FRESHNESS = timedelta(days=7)

# POLICY: two procedures sent within this window without success means repeating would only delay
# things further (FACT: "Please do not do this process multiple times; it will further delay").
REPEAT_WINDOW = timedelta(days=30)
REPEAT_LIMIT = 2


def policy_for(utility: Utility) -> UtilityPolicy:
    return UTILITIES[utility]

# POLICY: how far ahead of our clock an imported "meter data received" time may be (exports written in
# another time zone without an offset) before it is refused as impossible: data cannot arrive in the future.
CLOCK_SKEW = timedelta(days=1)
