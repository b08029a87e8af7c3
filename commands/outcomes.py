"""Outcomes: did the procedure support sent work? Measured per utility and week from the company's own history.

Plain Python, no I/O. `models/outcomes.py` counts, for each week's procedures, what followed them (the
first new authorization and the first connection after the steps, from the history of transitions; the
next procedure sent to the same customer; escalations) under the questions and windows defined here; this
module turns those tallies into the report: per utility and per week the steps were sent (Monday to Sunday
in the team's time zone), with the utility's measured verification time held against its configured wait.

Percentiles are hand-computable on purpose: the median is the middle value (the mean of the two middle
values for an even count), the 90th percentile the nearest rank (the value at rank ceil(0.9 n)).
"""

from __future__ import annotations

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


class Answer(NamedTuple):
    """How many procedures have an answer to one question (their window is over) and how many said yes.

    A procedure whose window is not over counts neither way, even when the answer already came:
    counting early successes but not yet-possible ones would inflate every recent share.
    """

    known: int
    yes: int

    @property
    def share(self) -> float | None:
        return self.yes / self.known if self.known else None


class WeekTally(NamedTuple):
    """What followed the procedures sent to one utility's customers in one week, as the database counted it.

    Each question is asked of the procedures whose window is over (sent at or before `answered_by`):
    re-authorized within REAUTHORIZED_WITHIN (the first new authorization at or after the steps),
    connected within each of CONNECTED_WITHIN (the first connection at or after the steps), sent the steps
    again within REPEAT_WINDOW (strictly later), escalated within ESCALATED_WITHIN. Counted by the database
    because a year of procedures at a million customers is a few hundred thousand rows, too many to bring
    into Python within the report's seconds.
    """

    utility: Utility
    week: date  # the Monday
    sent: int
    reauthorized: Answer
    connected_short: Answer
    connected_long: Answer
    repeated: Answer
    escalated: Answer
    # Days from the first new authorization after the steps to the first connection after it.
    verification_days: tuple[float, ...]


def answered_by(as_of: datetime, window: timedelta) -> datetime:
    """The procedures sent at or before this moment have their answer to a question of `window`."""
    return as_of - window


def week_starts(since: date, as_of: datetime, zone: ZoneInfo) -> list[tuple[date, datetime]]:
    """Each Monday from `since` to the week after `as_of`'s, with the moment its local midnight falls on
    (daylight saving time followed): a procedure belongs to the last week starting at or before it."""
    mondays = [since + timedelta(weeks=n) for n in range((as_of.date() - since).days // 7 + 2)]
    return [(monday, datetime.combine(monday, time(0), zone)) for monday in mondays]


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


def _summarize(tally: WeekTally) -> WeekOutcomes:
    return WeekOutcomes(
        utility=tally.utility,
        week=tally.week,
        sent=tally.sent,
        reauthorized_7d=tally.reauthorized.share,
        connected_7d=tally.connected_short.share,
        connected_14d=tally.connected_long.share,
        verification_median=median(tally.verification_days),
        verification_p90=percentile_90(tally.verification_days),
        verification_count=len(tally.verification_days),
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
    tallies: Iterable[WeekTally], *, as_of: datetime, since: date, history_since: datetime | None,
) -> OutcomesReport:
    """The report from the weeks' tallies of every procedure sent from the week of `since` to `as_of`."""
    order = list(Utility)
    ordered = sorted(tallies, key=lambda tally: (order.index(tally.utility), tally.week))
    weeks = tuple(_summarize(tally) for tally in ordered)
    times: dict[Utility, list[float]] = defaultdict(list)
    for tally in ordered:
        times[tally.utility].extend(tally.verification_days)
    return OutcomesReport(
        as_of=as_of, since=since, history_since=history_since, weeks=weeks,
        warnings=tuple(wait_warnings(weeks)),
        verification_days={u: tuple(sorted(times[u])) for u in order if u in times},
    )


def default_since(as_of: datetime, zone: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> date:
    """The Monday `weeks` weeks before the current week's."""
    return week_of(as_of, zone) - timedelta(weeks=weeks)
