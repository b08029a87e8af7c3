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

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from commands.policy import REPEAT_WINDOW, Utility, policy_for

DAY = timedelta(days=1)
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


@dataclass(frozen=True)
class ProcedureFacts:
    """What the history says followed one procedure sent."""

    customer_id: str
    utility: Utility
    sent_at: datetime
    granted_at: datetime | None  # the first new authorization at or after the steps
    connected_at: datetime | None  # the first connection at or after the steps
    connected_after_grant_at: datetime | None  # the first connection at or after that grant
    next_procedure_at: datetime | None  # the next steps sent to the same customer
    escalated_at: datetime | None  # the first escalation opened at or after the steps


@dataclass(frozen=True)
class ProcedureOutcome:
    facts: ProcedureFacts
    as_of: datetime

    def _days(self, since: datetime, until: datetime | None) -> float | None:
        return (until - since) / DAY if until is not None else None

    @property
    def reauthorized_days(self) -> float | None:
        return self._days(self.facts.sent_at, self.facts.granted_at)

    @property
    def connected_days(self) -> float | None:
        return self._days(self.facts.sent_at, self.facts.connected_at)

    @property
    def verification_days(self) -> float | None:
        """The utility's real verification time: from the new grant to the connection."""
        if self.facts.granted_at is None:
            return None
        return self._days(self.facts.granted_at, self.facts.connected_after_grant_at)

    @property
    def repeated(self) -> bool | None:
        return self._within(self.facts.next_procedure_at, REPEAT_WINDOW, strictly_after=True)

    @property
    def escalated(self) -> bool | None:
        return self._within(self.facts.escalated_at, ESCALATED_WITHIN)

    def reauthorized_within(self, span: timedelta) -> bool | None:
        return self._within(self.facts.granted_at, span)

    def connected_within(self, span: timedelta) -> bool | None:
        return self._within(self.facts.connected_at, span)

    def stuck_after(self, span: timedelta) -> bool | None:
        known = self.connected_within(span)
        return None if known is None else not known

    def _within(self, moment: datetime | None, span: timedelta, *, strictly_after: bool = False) -> bool | None:
        """Whether `moment` came within `span` of the steps; None until the span is over, even when it
        already came: counting early successes but not yet-possible ones would inflate every recent share."""
        start = self.facts.sent_at
        if self.as_of < start + span:
            return None
        return moment is not None and moment <= start + span and (moment > start or not strictly_after)


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


def share(answers: Iterable[bool | None]) -> float | None:
    """The share of True among the known answers; None when none is known yet."""
    known = [a for a in answers if a is not None]
    return sum(known) / len(known) if known else None


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


def summarize_week(utility: Utility, week: date, outcomes: Sequence[ProcedureOutcome]) -> WeekOutcomes:
    short, long = CONNECTED_WITHIN
    verifications = [v for o in outcomes if (v := o.verification_days) is not None]
    return WeekOutcomes(
        utility=utility,
        week=week,
        sent=len(outcomes),
        reauthorized_7d=share(o.reauthorized_within(REAUTHORIZED_WITHIN) for o in outcomes),
        connected_7d=share(o.connected_within(short) for o in outcomes),
        connected_14d=share(o.connected_within(long) for o in outcomes),
        verification_median=median(verifications),
        verification_p90=percentile_90(verifications),
        verification_count=len(verifications),
        repeat_rate=share(o.repeated for o in outcomes),
        escalation_rate=share(o.escalated for o in outcomes),
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
    """The report from the facts of every procedure sent in the weeks reported."""
    groups: dict[tuple[Utility, date], list[ProcedureOutcome]] = defaultdict(list)
    times: dict[Utility, list[float]] = defaultdict(list)
    for fact in facts:
        outcome = ProcedureOutcome(fact, as_of)
        groups[(fact.utility, week_of(fact.sent_at, zone))].append(outcome)
        if (days := outcome.verification_days) is not None:
            times[fact.utility].append(days)
    order = list(Utility)
    weeks = tuple(
        summarize_week(utility, week, groups[(utility, week)])
        for utility, week in sorted(groups, key=lambda key: (order.index(key[0]), key[1]))
    )
    return OutcomesReport(
        as_of=as_of, since=since, history_since=history_since, weeks=weeks,
        warnings=tuple(wait_warnings(weeks)),
        verification_days={u: tuple(sorted(times[u])) for u in order if u in times},
    )


def default_since(as_of: datetime, zone: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> date:
    """The Monday `weeks` weeks before the current week's."""
    return week_of(as_of, zone) - timedelta(weeks=weeks)
