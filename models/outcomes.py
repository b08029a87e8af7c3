"""Outcomes: what followed each procedure sent, counted per utility and week; the weekly chart's claims.

What followed each procedure (the first new authorization after the steps, the first connection after them
and after that grant, the next procedure, the first escalation) is kept on its own row by the database
(`procedure_outcomes`, migration 0019), rewritten by triggers whenever the customer's procedures,
transitions or escalations change. So the report is one scan of a year's procedures, tallied by the
database: only one row per utility and week (with its verification times) comes back. The rows hold first
moments only; the windows and the moment of the report are applied here, from `commands.outcomes`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Index,
    Interval,
    String,
    UniqueConstraint,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from commands.outcomes import (
    CONNECTED_WITHIN,
    DAY,
    ESCALATED_WITHIN,
    REAUTHORIZED_WITHIN,
    SECONDS_PER_DAY,
    Answer,
    WeekTally,
    answered_by,
)
from commands.policy import REPEAT_WINDOW, Utility
from models.base import Base, UTCDateTime
from models.claims import insert_if_absent

_MS_PER_DAY = 86_400_000
# Julian day numbers hold whole milliseconds but subtract with an error of about 1e-10 day: a slack below
# half a millisecond keeps "exactly 7 days after" within 7 days, and 1 ms more outside.
_JULIAN_SLACK = 5e-9


class ProcedureOutcomeRow(Base):
    """What followed one procedure: first moments, kept by the database's triggers (migration 0019)."""

    __tablename__ = "procedure_outcomes"

    procedure_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    customer_id: Mapped[str] = mapped_column(String(64))
    utility: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime]
    granted_at: Mapped[datetime | None]  # the first new authorization at or after the steps
    connected_at: Mapped[datetime | None]  # the first connection at or after the steps
    verified_at: Mapped[datetime | None]  # the first connection at or after that grant
    next_sent_at: Mapped[datetime | None]  # the next procedure to the customer, strictly later
    escalated_at: Mapped[datetime | None]  # the first escalation at or after the steps


Index("ix_procedure_outcomes_customer_id", ProcedureOutcomeRow.customer_id)
Index("ix_procedure_outcomes_sent_at", ProcedureOutcomeRow.sent_at)


class OutcomePostRow(Base):
    """The weekly outcomes chart of one channel: claimed by INSERT, so it is posted once per week."""

    __tablename__ = "outcome_posts"
    __table_args__ = (UniqueConstraint("week", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[datetime]
    ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime | None]


def week_tallies(
    session: Session, since: datetime, as_of: datetime, weeks: list[tuple[date, datetime]],
    utility: Utility | None = None,
) -> list[WeekTally]:
    """The tallies of the procedures sent from `since` to `as_of`, per utility and week (`weeks`: each
    Monday with the moment it starts, in order, as `commands.outcomes.week_starts` gives them)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    starts = [start for _, start in weeks]
    zone = getattr(starts[0].tzinfo, "key", None)
    o = ProcedureOutcomeRow
    if postgresql and zone is not None:
        # PostgreSQL knows the time zones: the local Monday directly, cheaper than the CASE tree.
        week: Any = cast(func.date_trunc("week", func.timezone(zone, o.sent_at)), Date)
    else:
        week = _week_index(o.sent_at, starts, 0, len(starts))
    if postgresql:
        # Compiling this statement's expressions costs PostgreSQL more than running them.
        session.execute(text("SET LOCAL jit = off"))

        def moment(column: Any) -> Any:
            return column

        def within(later: Any, window: timedelta) -> Any:
            return later <= o.sent_at + literal(window, Interval())

        def days(later: Any, earlier: Any) -> Any:
            return func.date_part("epoch", later - earlier) / SECONDS_PER_DAY
    else:
        # SQLite keeps moments as text: each is parsed once, into a Julian day number, then compared.
        def moment(column: Any) -> Any:
            return func.julianday(column)

        def within(later: Any, window: timedelta) -> Any:
            return later - func.julianday(o.sent_at) <= window / DAY + _JULIAN_SLACK

        def days(later: Any, earlier: Any) -> Any:
            # julianday() counts whole milliseconds: rounding to them gives exact days (3 days is 3.0).
            return func.round((later - earlier) * _MS_PER_DAY) / _MS_PER_DAY

    granted, connected, verified = moment(o.granted_at), moment(o.connected_at), moment(o.verified_at)
    # The next procedure counts only once sent, by the moment of the report.
    next_sent = moment(case((o.next_sent_at <= literal(as_of, UTCDateTime()), o.next_sent_at)))

    def answer(window: timedelta, yes: Any) -> tuple[Any, Any]:
        known = o.sent_at <= literal(answered_by(as_of, window), UTCDateTime())
        return func.count(case((known, 1))), func.count(case((and_(known, yes), 1)))

    verification = days(verified, granted)  # NULL unless both happened
    query = (
        select(
            o.utility, week, func.count(),
            *answer(REAUTHORIZED_WITHIN, within(granted, REAUTHORIZED_WITHIN)),
            *answer(CONNECTED_WITHIN[0], within(connected, CONNECTED_WITHIN[0])),
            *answer(CONNECTED_WITHIN[1], within(connected, CONNECTED_WITHIN[1])),
            *answer(REPEAT_WINDOW, within(next_sent, REPEAT_WINDOW)),
            *answer(ESCALATED_WITHIN, within(moment(o.escalated_at), ESCALATED_WITHIN)),
            func.array_agg(verification) if postgresql else func.group_concat(verification),
        )
        .where(o.sent_at >= literal(since, UTCDateTime()), o.sent_at <= literal(as_of, UTCDateTime()))
        .group_by(o.utility, week)
    )
    if utility is not None:
        query = query.where(o.utility == utility.value)
    utilities = {u.value: u for u in Utility}
    tallies = []
    mondays = [monday for monday, _ in weeks]
    for code, index, sent, *counts, times in session.execute(query):
        reauthorized, connected_short, connected_long, repeated, escalated = (
            Answer(counts[n], counts[n + 1]) for n in range(0, 10, 2))
        monday = index if isinstance(index, date) else mondays[index]
        tallies.append(WeekTally(utilities[code], monday, sent, reauthorized, connected_short,
                                 connected_long, repeated, escalated, _numbers(times)))
    return tallies


def _numbers(times: str | list[float | None] | None) -> tuple[float, ...]:
    if times is None:
        return ()
    if isinstance(times, str):  # SQLite's group_concat
        return tuple(float(value) for value in times.split(","))
    return tuple(value for value in times if value is not None)


def _week_index(moment: Any, starts: list[datetime], low: int, high: int) -> Any:
    """The index of the last start at or before `moment`, as a balanced tree of CASE: six comparisons
    a row for a year of weeks, where a flat CASE would average twenty-six."""
    if high - low <= 1:
        return literal(low)
    middle = (low + high) // 2
    return case(
        (moment < literal(starts[middle], UTCDateTime()), _week_index(moment, starts, low, middle)),
        else_=_week_index(moment, starts, middle, high),
    )
def claim_chart(session: Session, week: date, channel: str, *, now: datetime) -> bool:
    """Claim the week's chart for the channel; True for exactly one caller across every instance."""
    return insert_if_absent(
        session, OutcomePostRow.__table__, {"week": week, "channel": channel, "claimed_at": now},
        ["week", "channel"],
    )


def chart_posted(session: Session, week: date, channel: str) -> bool:
    return session.scalar(
        select(OutcomePostRow.posted_at).where(OutcomePostRow.week == week, OutcomePostRow.channel == channel)
    ) is not None


def record_chart(session: Session, week: date, channel: str, *, ts: str, now: datetime) -> None:
    session.execute(
        update(OutcomePostRow)
        .where(OutcomePostRow.week == week, OutcomePostRow.channel == channel)
        .values(ts=ts, posted_at=now)
    )
