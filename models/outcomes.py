"""Outcomes: what followed each procedure sent, counted per utility and week from the history; the weekly
chart's claims.

One query counts, for the procedures of the weeks reported, the answers to the report's questions
(`commands.outcomes.WeekTally`): a year at a million customers is a few hundred thousand procedures, so
they are tallied by the database and only one row per utility and week (with its verification times)
comes back. Finding what followed each procedure is where the two databases differ:

- SQLite: correlated seeks into the history's (customer, kind, time) index and the procedures' (customer,
  time) key, a few microseconds each; SQLite has no hash join, and these seeks are what its planner does
  best.
- PostgreSQL runs a correlated subquery as a SubPlan per row, about ten times dearer than SQLite's seek,
  so there each procedure is joined (hash join) to its customer's later events, and the first of each
  kind taken with `min() FILTER`, grouped by procedure.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
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
    union_all,
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
from models.customers import CustomerRow, ProcedureRow
from models.escalations import EscalationRow
from models.history import TransitionKind, TransitionRow

_PROCEDURE = "procedure"  # an event kind of the PostgreSQL join, beside the transition kinds
_MS_PER_DAY = 86_400_000
# Julian day numbers hold whole milliseconds but subtract with an error of about 1e-10 day: a slack below
# half a millisecond keeps "exactly 7 days after" within 7 days, and 1 ms more outside.
_JULIAN_SLACK = 5e-9


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

    def week(sent_at: Any) -> Any:
        if postgresql and zone is not None:
            # PostgreSQL knows the time zones: the local Monday directly, cheaper than the CASE tree.
            return cast(func.date_trunc("week", func.timezone(zone, sent_at)), Date).label("week")
        return _week_index(sent_at, starts, 0, len(starts)).label("week")

    if postgresql:
        # No JIT: compiling this statement's expressions costs PostgreSQL seconds, more than running them;
        # and room to hash and sort a year of procedures in memory.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        facts = _joined_facts(since, as_of, utility, week)
    else:
        facts = _sought_facts(since, as_of, utility, week)
    # Materialized on SQLite: each fact is read several times below, and SQLite's inlined subquery would seek
    # it again for every reference. Not on PostgreSQL, which computes a grouped subquery once anyway and,
    # reading it inline, tallies the weeks in a hash table instead of sorting a year of procedures.
    f = facts.cte("facts").prefix_with("NOT MATERIALIZED" if postgresql else "MATERIALIZED")

    # The facts' moments are timestamps on PostgreSQL and Julian day numbers on SQLite (parsing a text
    # time is most of the cost of a comparison there, so each is parsed once, in `_sought_facts`).
    if postgresql:
        def within(moment: Any, window: timedelta) -> Any:
            return moment <= f.c.sent + literal(window, Interval())

        def days(later: Any, earlier: Any) -> Any:
            return func.date_part("epoch", later - earlier) / SECONDS_PER_DAY

        connected_after_grant = _first(TransitionKind.CONNECTED, f.c.customer_id, f.c.granted)
    else:
        def within(moment: Any, window: timedelta) -> Any:
            return moment - f.c.sent <= window / DAY + _JULIAN_SLACK

        def days(later: Any, earlier: Any) -> Any:
            # julianday() counts whole milliseconds: rounding to them gives exact days (3 days is 3.0).
            return func.round((later - earlier) * _MS_PER_DAY) / _MS_PER_DAY

        connected_after_grant = func.julianday(_first(
            TransitionKind.CONNECTED, f.c.customer_id,
            _first(TransitionKind.GRANTED, f.c.customer_id, f.c.sent_at)))

    def answer(window: timedelta, yes: Any) -> tuple[Any, Any]:
        known = f.c.sent_at <= literal(answered_by(as_of, window), UTCDateTime())
        return func.count(case((known, 1))), func.count(case((and_(known, yes), 1)))

    # From the first new authorization after the steps to the first connection at or after it: the first
    # connection after the steps, unless that came before the grant (then one more seek); none after the
    # steps, none after the grant.
    verification = case(
        (f.c.granted.is_(None), None),
        (f.c.connected.is_(None), None),
        (f.c.connected >= f.c.granted, days(f.c.connected, f.c.granted)),
        else_=days(connected_after_grant, f.c.granted),
    )
    query = (
        select(
            f.c.utility, f.c.week, func.count(),
            *answer(REAUTHORIZED_WITHIN, within(f.c.granted, REAUTHORIZED_WITHIN)),
            *answer(CONNECTED_WITHIN[0], within(f.c.connected, CONNECTED_WITHIN[0])),
            *answer(CONNECTED_WITHIN[1], within(f.c.connected, CONNECTED_WITHIN[1])),
            *answer(REPEAT_WINDOW, within(f.c.next, REPEAT_WINDOW)),
            *answer(ESCALATED_WITHIN, f.c.escalated),
            func.array_agg(verification) if postgresql else func.group_concat(verification),
        )
        .group_by(f.c.utility, f.c.week)
    )
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


def _seconds(later: Any, earlier: Any, postgresql: bool) -> Any:
    """From `earlier` to `later` in seconds (NULL when either is), computed by the database."""
    if postgresql:
        return func.date_part("epoch", later - earlier)
    # julianday() counts whole milliseconds: rounding to them gives exact differences (3 days is 259200.0).
    return func.round((func.julianday(later) - func.julianday(earlier)) * SECONDS_PER_DAY, 3)


def _first(kind: TransitionKind, customer: Any, after: Any, moment: Any = None) -> Any:
    """The first transition of `kind` of `customer` at or after `after` (passed through `moment`)."""
    transition = TransitionRow.__table__.alias()  # its own name: these nest
    first = func.min(transition.c.at)
    return (
        select(first if moment is None else moment(first))
        .where(transition.c.customer_id == customer, transition.c.kind == kind.value, transition.c.at >= after)
        .correlate_except(transition)
        .scalar_subquery()
    )


def _escalated(since: datetime, as_of: datetime, postgresql: bool) -> Any:
    """The procedures followed by an escalation within ESCALATED_WITHIN: driven from the escalations (a few
    thousand), each matched to its customer's procedures through their (customer, time) key."""
    procedure, escalation = ProcedureRow, EscalationRow
    return (
        select(procedure.id)
        .select_from(escalation)
        .join(procedure, procedure.customer_id == escalation.customer_id)
        .where(procedure.sent_at >= since, procedure.sent_at <= as_of, procedure.sent_at <= escalation.opened_at,
               _seconds(escalation.opened_at, procedure.sent_at, postgresql) <= ESCALATED_WITHIN.total_seconds())
    )


def _sought_facts(since: datetime, as_of: datetime, utility: Utility | None, week: Any) -> Any:
    """Per procedure, what followed it, by correlated seeks (SQLite), as Julian day numbers."""
    procedures = (
        select(ProcedureRow.id, ProcedureRow.customer_id, CustomerRow.utility, ProcedureRow.sent_at,
               week(ProcedureRow.sent_at), CustomerRow.last_procedure_at)
        .join(CustomerRow, CustomerRow.id == ProcedureRow.customer_id)
        .where(ProcedureRow.sent_at >= since, ProcedureRow.sent_at <= as_of)
    )
    if utility is not None:
        procedures = procedures.where(CustomerRow.utility == utility.value)
    p = procedures.subquery("procedures_sent")
    later = ProcedureRow.__table__.alias("later")
    next_at = (
        select(func.julianday(func.min(later.c.sent_at)))
        .where(later.c.customer_id == p.c.customer_id, later.c.sent_at > p.c.sent_at, later.c.sent_at <= as_of)
        .scalar_subquery()
    )
    return select(
        p.c.customer_id, p.c.utility, p.c.sent_at, p.c.week,
        func.julianday(p.c.sent_at).label("sent"),
        _first(TransitionKind.GRANTED, p.c.customer_id, p.c.sent_at, func.julianday).label("granted"),
        _first(TransitionKind.CONNECTED, p.c.customer_id, p.c.sent_at, func.julianday).label("connected"),
        # Most procedures are their customer's last (the customer summary says so): no seek for those.
        case((p.c.last_procedure_at > p.c.sent_at, next_at)).label("next"),
        p.c.id.in_(_escalated(since, as_of, postgresql=False)).label("escalated"),
    )


def _joined_facts(since: datetime, as_of: datetime, utility: Utility | None, week: Any) -> Any:
    """Per procedure, what followed it, by one hash join with every later event of its customer, grouped by
    procedure (PostgreSQL); the customer's utility and the week are joined to the grouped rows."""
    procedure = ProcedureRow
    events = union_all(
        select(TransitionRow.customer_id, TransitionRow.at, TransitionRow.kind)
        .where(TransitionRow.kind.in_([TransitionKind.GRANTED.value, TransitionKind.CONNECTED.value]),
               TransitionRow.at >= since),
        select(procedure.customer_id, procedure.sent_at, literal(_PROCEDURE, String(16)))
        .where(procedure.sent_at >= since, procedure.sent_at <= as_of),
    ).subquery("events")

    def first(kind: str, *, strictly_after: bool = False) -> Any:
        condition = events.c.kind == kind
        if strictly_after:
            condition = and_(condition, events.c.at > procedure.sent_at)
        return func.min(events.c.at).filter(condition)

    followed = (
        select(
            procedure.id, procedure.customer_id, procedure.sent_at,
            first(TransitionKind.GRANTED.value).label("granted"),
            first(TransitionKind.CONNECTED.value).label("connected"),
            first(_PROCEDURE, strictly_after=True).label("next"),
        )
        .select_from(procedure.__table__.outerjoin(events, and_(events.c.customer_id == procedure.customer_id,
                                                                events.c.at >= procedure.sent_at)))
        .where(procedure.sent_at >= since, procedure.sent_at <= as_of)
        .group_by(procedure.id)
    ).subquery("followed")
    facts = (
        select(
            followed.c.customer_id, CustomerRow.utility, followed.c.sent_at, week(followed.c.sent_at),
            followed.c.sent_at.label("sent"), followed.c.granted, followed.c.connected, followed.c.next,
            followed.c.id.in_(_escalated(since, as_of, postgresql=True)).label("escalated"),
        )
        .join(CustomerRow, CustomerRow.id == followed.c.customer_id)
    )
    return facts if utility is None else facts.where(CustomerRow.utility == utility.value)


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
