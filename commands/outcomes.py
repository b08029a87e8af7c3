"""Outcomes: did the procedure support sent work? Measured per utility and week from the company's own history.

Plain Python, no I/O. `models/outcomes.py` reads, for each procedure sent, the first new authorization and
the first connection that followed it (from the history of transitions), the next procedure sent to the
same customer and the first escalation; this module turns those facts into each procedure's outcome and
the report: per utility and per week the steps were sent (Monday to Sunday in the team's time zone),
with the utility's measured verification time held against its configured wait.

Percentiles are hand-computable on purpose: the median is the middle value (the mean of the two middle
values for an even count), the 90th percentile the nearest rank (the value at rank ceil(0.9 n)).
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from commands.policy import REPEAT_WINDOW, Utility, policy_for

DAY = timedelta(days=1)
SECONDS_PER_DAY = DAY.total_seconds()
# FACT-derived (the help article): a week after re-authorizing is when a customer still not connected
# needs escalating; two weeks is the report's second look.
CONNECTED_WITHIN = (timedelta(days=7), timedelta(days=14))
REAUTHORIZED_WITHIN = timedelta(days=7)
# POLICY: an escalation within this window after the steps counts as the steps not having helped.
ESCALATED_WITHIN = REPEAT_WINDOW
# POLICY: how many weeks running the measured 90th percentile must exceed the wait before the report
# says the wait looks wrong.
WAIT_WARNING_WEEKS = 2
# POLICY: the report's and the Home tab's default span.
DEFAULT_WEEKS = 12
HOME_WEEKS = 4


_REAUTHORIZED_DAYS = REAUTHORIZED_WITHIN / DAY
_CONNECTED_DAYS = tuple(span / DAY for span in CONNECTED_WITHIN)
_REPEAT_DAYS = REPEAT_WINDOW / DAY
_ESCALATED_DAYS = ESCALATED_WITHIN / DAY


class ProcedureFacts(NamedTuple):
    """What the history says followed one procedure sent, in days after the steps (None: not so far).

    Numbers rather than datetimes: a year of procedures at a million customers is a few hundred
    thousand of these, and the report must stay within seconds.
    """

    customer_id: str
    utility: Utility
    sent_at: float  # POSIX seconds
    reauthorized_days: float | None  # the first new authorization at or after the steps
    connected_days: float | None  # the first connection at or after the steps
    verification_days: float | None  # from that new authorization to the first connection after it
    next_procedure_days: float | None  # the next steps sent to the same customer
    escalated_days: float | None  # the first escalation opened at or after the steps


class _Answer:
    """How many procedures have an answer to one question (their window is over) and how many said yes.

    A procedure whose window is not over counts neither way, even when the answer already came:
    counting early successes but not yet-possible ones would inflate every recent share.
    """

    __slots__ = ("known", "yes")

    def __init__(self) -> None:
        self.known = 0
        self.yes = 0

    def add(self, age_days: float, window_days: float, days: float | None, *, strictly_after: bool = False) -> None:
        if age_days < window_days:
            return
        self.known += 1
        if days is not None and days <= window_days and (days > 0 or not strictly_after):
            self.yes += 1

    @property
    def share(self) -> float | None:
        return self.yes / self.known if self.known else None


class _Week:
    """One utility's procedures of one week, tallied in one pass."""

    def __init__(self) -> None:
        self.sent = 0
        self.reauthorized = _Answer()
        self.connected_short = _Answer()
        self.connected_long = _Answer()
        self.repeated = _Answer()
        self.escalated = _Answer()
        self.verifications: list[float] = []

    def add(self, facts: ProcedureFacts, age_days: float) -> None:
        self.sent += 1
        self.reauthorized.add(age_days, _REAUTHORIZED_DAYS, facts.reauthorized_days)
        self.connected_short.add(age_days, _CONNECTED_DAYS[0], facts.connected_days)
        self.connected_long.add(age_days, _CONNECTED_DAYS[1], facts.connected_days)
        self.repeated.add(age_days, _REPEAT_DAYS, facts.next_procedure_days, strictly_after=True)
        self.escalated.add(age_days, _ESCALATED_DAYS, facts.escalated_days)
        if facts.verification_days is not None:
            self.verifications.append(facts.verification_days)


def week_of(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday of the local week `moment` falls in (daylight saving time followed)."""
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile_90(values: Sequence[float]) -> float | None:
    """Nearest rank: the value at rank ceil(0.9 n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass(frozen=True)
class WeekOutcomes:
    """The procedures sent to one utility's customers in one week, and what followed."""

    utility: Utility
    week: date  # the Monday
    sent: int
    reauthorized_7d: float | None
    connected_7d: float | None
    connected_14d: float | None
    verification_median: float | None  # days
    verification_p90: float | None  # days
    verification_count: int
    repeat_rate: float | None
    escalation_rate: float | None
    # Procedures whose customer was still not connected 7 and 14 days after the steps.
    stuck_7d: int = 0
    stuck_14d: int = 0


@dataclass(frozen=True)
class WaitWarning:
    """The measured 90th percentile exceeded the configured wait for weeks running; the policy is unchanged."""

    utility: Utility
    wait_days: int
    weeks: tuple[date, ...]
    measured_p90: tuple[float, ...]

    @property
    def needed_days(self) -> int:
        """The wait that would have covered 90% of verifications in those weeks."""
        return math.ceil(max(self.measured_p90))


@dataclass(frozen=True)
class OutcomesReport:
    as_of: datetime
    since: date  # the first week reported
    history_since: datetime | None  # when history began; nothing before it is known
    weeks: tuple[WeekOutcomes, ...]
    warnings: tuple[WaitWarning, ...]
    # Every measured verification time (days) per utility, for the chart's distribution.
    verification_days: Mapping[Utility, tuple[float, ...]] = field(default_factory=dict)

    @property
    def procedures(self) -> int:
        return sum(w.sent for w in self.weeks)

    def utilities(self) -> list[Utility]:
        present = {w.utility for w in self.weeks}
        return [u for u in Utility if u in present]

    def weeks_of(self, utility: Utility) -> list[WeekOutcomes]:
        return [w for w in self.weeks if w.utility is utility]


def _summarize(utility: Utility, week: date, tally: _Week) -> WeekOutcomes:
    return WeekOutcomes(
        utility=utility,
        week=week,
        sent=tally.sent,
        reauthorized_7d=tally.reauthorized.share,
        connected_7d=tally.connected_short.share,
        connected_14d=tally.connected_long.share,
        verification_median=median(tally.verifications),
        verification_p90=percentile_90(tally.verifications),
        verification_count=len(tally.verifications),
        repeat_rate=tally.repeated.share,
        escalation_rate=tally.escalated.share,
        stuck_7d=tally.connected_short.known - tally.connected_short.yes,
        stuck_14d=tally.connected_long.known - tally.connected_long.yes,
    )


def wait_warnings(weeks: Sequence[WeekOutcomes]) -> list[WaitWarning]:
    """Per utility, the latest run of `WAIT_WARNING_WEEKS` consecutive weeks whose measured 90th
    percentile exceeded the utility's configured wait."""
    warnings: list[WaitWarning] = []
    by_utility: dict[Utility, list[WeekOutcomes]] = defaultdict(list)
    for week in weeks:
        by_utility[week.utility].append(week)
    for utility in Utility:
        wait = policy_for(utility).wait_days
        run: list[WeekOutcomes] = []
        latest: list[WeekOutcomes] | None = None
        for week in sorted(by_utility.get(utility, []), key=lambda w: w.week):
            over = week.verification_p90 is not None and week.verification_p90 > wait
            consecutive = bool(run) and week.week - run[-1].week == timedelta(weeks=1)
            run = ([*run, week] if consecutive else [week]) if over else []
            if len(run) >= WAIT_WARNING_WEEKS:
                latest = run[-WAIT_WARNING_WEEKS:]
        if latest:
            warnings.append(WaitWarning(
                utility, wait, tuple(w.week for w in latest),
                tuple(w.verification_p90 for w in latest if w.verification_p90 is not None),
            ))
    return warnings


def compose_report(
    facts: Iterable[ProcedureFacts], *, as_of: datetime, since: date, history_since: datetime | None,
    zone: ZoneInfo,
) -> OutcomesReport:
    """The report from the facts of every procedure sent from the week of `since` to `as_of`."""
    # Each local Monday's midnight as POSIX seconds: a procedure's week is one bisection, DST included.
    mondays = [since + timedelta(weeks=n) for n in range((as_of.date() - since).days // 7 + 2)]
    starts = [datetime.combine(monday, time(0), zone).timestamp() for monday in mondays]
    now = as_of.timestamp()
    tallies: dict[tuple[Utility, date], _Week] = defaultdict(_Week)
    times: dict[Utility, list[float]] = defaultdict(list)
    for fact in facts:
        index = bisect.bisect_right(starts, fact.sent_at) - 1
        week = mondays[index] if 0 <= index < len(mondays) else week_of(
            datetime.fromtimestamp(fact.sent_at, zone), zone)
        tallies[(fact.utility, week)].add(fact, (now - fact.sent_at) / SECONDS_PER_DAY)
        if fact.verification_days is not None:
            times[fact.utility].append(fact.verification_days)
    order = list(Utility)
    weeks = tuple(
        _summarize(utility, week, tallies[(utility, week)])
        for utility, week in sorted(tallies, key=lambda key: (order.index(key[0]), key[1]))
    )
    return OutcomesReport(
        as_of=as_of, since=since, history_since=history_since, weeks=weeks,
        warnings=tuple(wait_warnings(weeks)),
        verification_days={u: tuple(sorted(times[u])) for u in order if u in times},
    )


def default_since(as_of: datetime, zone: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> date:
    """The Monday `weeks` weeks before the current week's."""
    return week_of(as_of, zone) - timedelta(weeks=weeks)
