"""The daily digest of stuck customers: categories, changes since the last digest, the longest stuck, the trend.

Plain Python, no I/O. The categories are reasons of `commands.rules.recommend`: a customer is stuck when
the rules tell support to act (re-authorize or escalate), and sits in the category of the first reason
the rules give. The SQL in `models/digest/queries.py` mirrors `recommend` row by row so that the digest
and `/reauth-check` agree on every customer (tests/digest/test_agreement.py holds it to that).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from commands.policy import Utility
from commands.rules import Action, Reason

# The categories in the order the digest shows them, each with the one action the rules give it.
STUCK_REASONS: tuple[Reason, ...] = (
    Reason.NOT_CONNECTED_7D,  # past the verification window and still not connected (rule 8)
    Reason.DUPLICATE_AUTHORIZATIONS,  # rule 4
    Reason.SCOPE_INCOMPLETE,  # rule 5
    Reason.REAUTH_DID_NOT_HELP,  # re-authorized after our steps more than a week ago (rule 7)
    Reason.REPEATED_PROCEDURE,  # rule 3
    Reason.GRANT_DATE_UNKNOWN,  # an authorization of unknown age: a person must look (rule 0)
)
REASON_ACTIONS: Mapping[Reason, Action] = {
    Reason.NOT_CONNECTED_7D: Action.REAUTH,
    Reason.DUPLICATE_AUTHORIZATIONS: Action.REAUTH,
    Reason.SCOPE_INCOMPLETE: Action.REAUTH,
    Reason.REAUTH_DID_NOT_HELP: Action.ESCALATE,
    Reason.REPEATED_PROCEDURE: Action.ESCALATE,
    Reason.GRANT_DATE_UNKNOWN: Action.ESCALATE,
}

LONGEST_STUCK = 10
TREND_DAYS = 14
SPARKS = "▁▂▃▄▅▆▇█"
NO_DIGEST_SPARK = "·"


class EscalationAge(StrEnum):
    """Open escalations by how long they have been open."""

    UNDER_1_DAY = "under_1_day"
    DAYS_1_TO_3 = "days_1_to_3"
    DAYS_3_TO_7 = "days_3_to_7"
    OVER_7_DAYS = "over_7_days"


# POLICY: the age buckets of open escalations; an escalation open for a week is the one to chase.
ESCALATION_AGE_LIMITS: tuple[tuple[EscalationAge, timedelta], ...] = (
    (EscalationAge.UNDER_1_DAY, timedelta(days=1)),
    (EscalationAge.DAYS_1_TO_3, timedelta(days=3)),
    (EscalationAge.DAYS_3_TO_7, timedelta(days=7)),
)


@dataclass(frozen=True, slots=True)
class StuckCustomer:
    """One stuck customer. `stuck_since` is the later of the last meter data and the newest live
    authorization: when things last worked, or when the customer last acted."""

    customer_id: str
    utility: Utility
    reason: Reason
    stuck_since: datetime | None

    @property
    def action(self) -> Action:
        return REASON_ACTIONS[self.reason]

    def days_stuck(self, now: datetime) -> int | None:
        return None if self.stuck_since is None else max((now - self.stuck_since).days, 0)


@dataclass(frozen=True)
class StuckCounts:
    """Stuck customers per category and open escalations per age."""

    by_reason: Mapping[Reason, int]
    escalations: Mapping[EscalationAge, int]

    @property
    def total(self) -> int:
        return sum(self.by_reason.get(r, 0) for r in STUCK_REASONS)

    @property
    def open_escalations(self) -> int:
        return sum(self.escalations.values())

    def count(self, reason: Reason) -> int:
        return self.by_reason.get(reason, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "reasons": {r.value: self.count(r) for r in STUCK_REASONS},
            "escalations": {age.value: self.escalations.get(age, 0) for age in EscalationAge},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StuckCounts:
        reasons = {Reason(k): int(v) for k, v in dict(data.get("reasons") or {}).items() if k in _REASON_VALUES}
        escalations = {EscalationAge(k): int(v) for k, v in dict(data.get("escalations") or {}).items()
                       if k in _AGE_VALUES}
        return cls(reasons, escalations)


_REASON_VALUES = frozenset(r.value for r in STUCK_REASONS)
_AGE_VALUES = frozenset(a.value for a in EscalationAge)


@dataclass(frozen=True)
class PastDigest:
    """What an earlier digest of the channel posted."""

    day: date
    counts: StuckCounts
    # Migration 0004 (digests) revises 0002, not 0003 (escalations): a database could store digests before
    # it kept escalations, and those rows have no escalation counts to compare with.
    counted_escalations: bool = True
    # The key under which the database recorded who was stuck at this digest (migration 0013); None when it
    # did not (posted before then, or its snapshot pruned): who is newly stuck since is then unknown.
    stuck_snapshot: int | None = None

    @classmethod
    def from_json(cls, day: date, data: Mapping[str, Any], stuck_snapshot: int | None = None) -> PastDigest:
        return cls(day, StuckCounts.from_json(data), counted_escalations=data.get("escalations") is not None,
                   stuck_snapshot=stuck_snapshot)


def previous_digest(day: date, history: Sequence[PastDigest]) -> PastDigest | None:
    """The digest `day`'s digest compares with: the channel's latest before `day`."""
    return max((p for p in history if p.day < day), key=lambda p: p.day, default=None)


@dataclass(frozen=True)
class TrendDay:
    day: date
    total: int | None  # None: no digest that day


@dataclass(frozen=True)
class CaseToTake:
    """An open escalation nobody has taken: its thread is where someone takes it."""

    customer_id: str
    opened_at: datetime
    channel: str
    parent_ts: str | None


@dataclass(frozen=True)
class FollowUpDue:
    """A follow-up clock that falls due today: the bot re-checks the customer and posts the result."""

    customer_id: str
    due_at: datetime


@dataclass(frozen=True)
class NewlyStuck:
    """Customers stuck now who were not at the previous digest: how many, and the first few in the full
    list's order (longest stuck first)."""

    total: int
    first: tuple[StuckCustomer, ...] = ()


@dataclass(frozen=True)
class ActToday:
    """What a lead hands out today: escalations nobody has taken, follow-ups falling due, customers newly
    stuck (the first few of each, and how many in all). `newly_stuck` is None when there is no earlier
    snapshot to compare with: unknown, not zero."""

    untaken: tuple[CaseToTake, ...] = ()
    untaken_total: int = 0
    follow_ups: tuple[FollowUpDue, ...] = ()
    follow_ups_total: int = 0
    newly_stuck: NewlyStuck | None = None

    @property
    def newly_stuck_total(self) -> int:
        return self.newly_stuck.total if self.newly_stuck else 0

    @property
    def is_empty(self) -> bool:
        return not self.untaken_total and not self.follow_ups_total and not self.newly_stuck_total


@dataclass(frozen=True)
class Digest:
    """One day's digest for one channel."""

    day: date
    as_of: datetime
    counts: StuckCounts
    longest: tuple[StuckCustomer, ...]
    previous: PastDigest | None = None
    trend: tuple[TrendDay, ...] = field(default=())
    act_today: ActToday = field(default=ActToday())

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def is_empty(self) -> bool:
        """Nobody stuck and no escalation open."""
        return self.total == 0 and not self.counts.open_escalations

    def change(self, reason: Reason) -> int | None:
        """Change since the previous digest; None when there is none to compare with."""
        return None if self.previous is None else self.counts.count(reason) - self.previous.counts.count(reason)

    @property
    def total_change(self) -> int | None:
        return None if self.previous is None else self.total - self.previous.counts.total

    @property
    def escalations_change(self) -> int | None:
        if self.previous is None or not self.previous.counted_escalations:
            return None
        return self.counts.open_escalations - self.previous.counts.open_escalations

    @property
    def sparkline(self) -> str:
        return sparkline([t.total for t in self.trend])

    @property
    def week_ago(self) -> TrendDay | None:
        """The trend's total a week ago, or failing that the oldest digest of the trend (None: no earlier one)."""
        earlier = [t for t in self.trend if t.total is not None and t.day < self.day]
        exact = [t for t in earlier if t.day == self.day - timedelta(days=7)]
        found = exact or earlier
        return found[0] if found else None


def compose_digest(
    day: date,
    as_of: datetime,
    counts: StuckCounts,
    longest: Sequence[StuckCustomer],
    history: Sequence[PastDigest],
    act_today: ActToday | None = None,
) -> Digest:
    """The digest of `day` from today's counts and the channel's earlier digests (any order, any days)."""
    earlier = [p for p in history if p.day < day]
    totals = {p.day: p.counts.total for p in earlier}
    totals[day] = counts.total
    trend = tuple(
        TrendDay(d, totals.get(d)) for d in (day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1))
    )
    return Digest(
        day=day,
        as_of=as_of,
        counts=counts,
        longest=tuple(longest[:LONGEST_STUCK]),
        previous=previous_digest(day, history),
        trend=trend,
        act_today=act_today or ActToday(),
    )


def sparkline(values: Sequence[int | None]) -> str:
    """One bar per value scaled between the smallest and the largest; a day without a value is a dot."""
    known = [v for v in values if v is not None]
    if not known:
        return NO_DIGEST_SPARK * len(values)
    low, high = min(known), max(known)
    top = len(SPARKS) - 1
    if high == low:
        return "".join(NO_DIGEST_SPARK if v is None else SPARKS[top if high else 0] for v in values)
    return "".join(
        NO_DIGEST_SPARK if v is None else SPARKS[round((v - low) * top / (high - low))] for v in values
    )


# --- when the digest is due ------------------------------------------------------------------------


def digest_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant `at` o'clock happens on `day` in `zone`.

    Wall-clock time is what counts, so on daylight-saving days the instant moves with the clock. A time
    the clock skips (02:30 when spring starts) is read with the offset before the change, so it falls
    an hour later in wall-clock terms; a time that happens twice (01:30 when autumn starts) is the first.
    """
    # In UTC: Python compares a wall time that is skipped or repeated as unequal to every other instant.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_day(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def due_day(now: datetime, at: time, zone: ZoneInfo) -> date | None:
    """The day whose digest is due at `now`: today once its digest time has come, else None.

    Only today: a digest missed on an earlier day is never posted later (its news is stale).
    """
    today = local_day(now, zone)
    return today if now >= digest_moment(today, at, zone) else None


def judged_at(day: date, now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The moment a digest of `day` judges customers at: now for today, the digest time for a past day."""
    return now if day >= local_day(now, zone) else digest_moment(day, at, zone)
