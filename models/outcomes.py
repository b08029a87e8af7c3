"""Outcomes: the facts behind each procedure sent, read from the history; the weekly chart's claims.

One query reads every procedure of the weeks reported with, per procedure, the first new authorization
and the first connection that followed it: correlated seeks into the history's (customer, kind, time)
index, so the cost grows with the procedures reported, not with the customers.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Select, String, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from commands.outcomes import SECONDS_PER_DAY, ProcedureFacts
from commands.policy import Utility
from models.base import Base, UTCDateTime
from models.claims import insert_if_absent
from models.customers import CustomerRow, ProcedureRow
from models.escalations import EscalationRow
from models.history import TransitionKind, TransitionRow

# Rows fetched per round trip while streaming a year of procedures.
_FETCH = 10_000
_UNIX_EPOCH_JULIAN_DAY = 2440587.5


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


def sent_procedures(since: datetime, until: datetime) -> Select[str, datetime, datetime]:
    """The procedures that count as steps sent to a customer, with the next one sent to the same customer.

    Every outcome reads procedures through here, so what counts as a procedure is decided in one place.
    """
    return select(
        ProcedureRow.customer_id,
        ProcedureRow.sent_at,
        func.lead(ProcedureRow.sent_at, type_=UTCDateTime()).over(
            partition_by=ProcedureRow.customer_id, order_by=ProcedureRow.sent_at
        ).label("next_procedure_at"),
    ).where(ProcedureRow.sent_at >= since, ProcedureRow.sent_at <= until)


def _first(kind: TransitionKind, customer: Any, after: Any) -> Any:
    return (
        select(func.min(TransitionRow.at))
        .where(TransitionRow.customer_id == customer, TransitionRow.kind == kind.value, TransitionRow.at >= after)
        .scalar_subquery()
    )


def _epoch(column: Any, dialect: str) -> Any:
    """A moment as POSIX seconds, computed by the database: parsing a few hundred thousand datetimes
    in Python would be most of the report's time."""
    if dialect == "postgresql":
        return func.date_part("epoch", column)
    return (func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY) * SECONDS_PER_DAY


def procedure_facts(
    session: Session, since: datetime, until: datetime, utility: Utility | None = None
) -> Iterator[ProcedureFacts]:
    """The facts of every procedure sent from `since` to `until`, streamed."""
    dialect = session.get_bind().dialect.name
    procedures = sent_procedures(since, until).subquery("procedures_sent")
    followed = (
        select(
            procedures.c.customer_id,
            CustomerRow.utility,
            procedures.c.sent_at,
            procedures.c.next_procedure_at,
            _first(TransitionKind.GRANTED, procedures.c.customer_id, procedures.c.sent_at).label("granted_at"),
            _first(TransitionKind.CONNECTED, procedures.c.customer_id, procedures.c.sent_at).label("connected_at"),
        )
        .join(CustomerRow, CustomerRow.id == procedures.c.customer_id)
    )
    if utility is not None:
        followed = followed.where(CustomerRow.utility == utility.value)
    # Materialized: the outer query reads granted_at twice, and an inlined subquery would seek it twice.
    inner = followed.cte("followed").prefix_with("MATERIALIZED")
    after_grant = _first(TransitionKind.CONNECTED, inner.c.customer_id, inner.c.granted_at)
    query = select(
        inner.c.customer_id, inner.c.utility,
        *(_epoch(moment, dialect) for moment in (
            inner.c.sent_at, inner.c.granted_at, inner.c.connected_at, after_grant, inner.c.next_procedure_at,
        )),
    )
    escalations = _escalations(session, since)
    utilities = {u.value: u for u in Utility}
    result = session.execute(query.execution_options(yield_per=_FETCH))
    for customer_id, code, sent, granted, connected, after, following in result:
        opened = escalations.get(customer_id)
        escalated = None
        if opened:
            index = bisect.bisect_left(opened, sent)
            escalated = opened[index] if index < len(opened) else None
        yield ProcedureFacts(
            customer_id, utilities[code], sent,
            None if granted is None else (granted - sent) / SECONDS_PER_DAY,
            None if connected is None else (connected - sent) / SECONDS_PER_DAY,
            None if granted is None or after is None else (after - granted) / SECONDS_PER_DAY,
            None if following is None else (following - sent) / SECONDS_PER_DAY,
            None if escalated is None else (escalated - sent) / SECONDS_PER_DAY,
        )


def _escalations(session: Session, since: datetime) -> dict[str, list[float]]:
    """When each customer's escalations were opened (POSIX seconds): a few thousand rows, matched in memory."""
    opened: dict[str, list[float]] = defaultdict(list)
    rows = session.execute(
        select(EscalationRow.customer_id, EscalationRow.opened_at)
        .where(EscalationRow.opened_at >= since)
        .order_by(EscalationRow.customer_id, EscalationRow.opened_at)
    )
    for customer_id, opened_at in rows:
        opened[customer_id].append(opened_at.timestamp())
    return opened


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
