"""Escalated cases and follow-up clocks, and the claims that make each of their side effects happen once.

Every decision is taken by the database: an open case is claimed by INSERT into a partial unique index,
taking, resolving and firing a follow-up are conditional UPDATEs whose rowcount says who won.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    CheckConstraint,
    CursorResult,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from commands.escalations import Escalation, Resolution, Status
from commands.tickets import Ticket
from models.base import Base
from models.customers import AuthorizationRow

OPEN = "status = 'open'"


class EscalationRow(Base):
    """One escalated case. The daily digest reads this table: keep the column names."""

    __tablename__ = "escalations"
    __table_args__ = (CheckConstraint("status IN ('open', 'resolved')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # a commands.escalations.Status value
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(64))  # Slack user id
    reason: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[str | None] = mapped_column(String(64))
    ticket_url: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32))
    # Null until the parent message is posted; the thread's replies wait for it.
    parent_ts: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    taken_by: Mapped[str | None] = mapped_column(String(64))
    taken_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(16))  # commands.escalations.Resolution


# At most one open case per customer: the INSERT that opens a case is the claim.
Index(
    "ix_escalations_customer_id",
    EscalationRow.customer_id,
    unique=True,
    sqlite_where=text(OPEN),
    postgresql_where=text(OPEN),
)


class FollowUpStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"


class FollowUpRow(Base):
    """A re-check due when the utility's wait window ends; fired once by whichever instance claims it."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        UniqueConstraint("customer_id", "due_at"),
        CheckConstraint("status IN ('pending', 'fired')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    agent: Mapped[str | None] = mapped_column(String(64))  # told by DM when the customer has no open case
    status: Mapped[str] = mapped_column(String(16))  # a FollowUpStatus value
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]


Index("ix_follow_ups_status_due_at", FollowUpRow.status, FollowUpRow.due_at)


@dataclass(frozen=True)
class FollowUp:
    id: int
    customer_id: str
    due_at: datetime
    escalation_id: int | None
    agent: str | None


# --- escalations -------------------------------------------------------------------------------------


def open_escalation(
    session: Session,
    *,
    customer_id: str,
    at: datetime,
    opened_by: str,
    reason: str,
    ticket: Ticket | None,
    note: str | None,
    channel: str,
    summary: str,
) -> int | None:
    """Claim the customer's open case by INSERT; the new id, or None when a case is already open."""
    values = {
        "customer_id": customer_id, "status": Status.OPEN.value, "opened_at": at, "opened_by": opened_by,
        "reason": reason, "ticket_id": ticket.id if ticket else None, "ticket_url": ticket.url if ticket else None,
        "note": note, "channel": channel, "summary": summary,
    }
    statement = (
        _insert(session)(EscalationRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["customer_id"], index_where=text(OPEN))
        .returning(EscalationRow.id)
    )
    inserted: int | None = session.execute(statement).scalar_one_or_none()
    return inserted


def open_escalation_of(session: Session, customer_id: str) -> Escalation | None:
    row = session.scalars(_OPEN_ESCALATION_OF, {"customer": customer_id}).one_or_none()
    return to_escalation(row) if row else None


# The predicate as text, not a parameter: only then can PostgreSQL use the partial index on open cases
# (a prepared statement's generic plan cannot see a parameter's value, and scans every case ever). Built
# once: every delivered post asks it, and building and keying the statement cost more than running it.
_OPEN_ESCALATION_OF = select(EscalationRow).where(
    EscalationRow.customer_id == bindparam("customer"), text(f"escalations.{OPEN}")
)


def open_escalations(session: Session) -> list[Escalation]:
    rows = session.scalars(select(EscalationRow).where(EscalationRow.status == Status.OPEN).order_by(EscalationRow.id))
    return [to_escalation(row) for row in rows]


def escalation(session: Session, escalation_id: int) -> Escalation | None:
    row = session.get(EscalationRow, escalation_id, populate_existing=True)
    return to_escalation(row) if row else None


def take(session: Session, escalation_id: int, *, agent: str, at: datetime) -> bool:
    """The agent takes the open case (or takes it over); False when it is resolved or already theirs."""
    statement = (
        update(EscalationRow)
        .where(
            EscalationRow.id == escalation_id,
            EscalationRow.status == Status.OPEN,
            EscalationRow.taken_by.is_(None) | (EscalationRow.taken_by != agent),
        )
        .values(taken_by=agent, taken_at=at)
    )
    return _one_row(session, statement)


def resolve(session: Session, escalation_id: int, *, by: str | None, at: datetime, resolution: Resolution) -> bool:
    """Resolve the open case; exactly one of several concurrent callers gets True."""
    statement = (
        update(EscalationRow)
        .where(EscalationRow.id == escalation_id, EscalationRow.status == Status.OPEN)
        .values(status=Status.RESOLVED.value, resolved_by=by, resolved_at=at, resolution=resolution.value)
    )
    return _one_row(session, statement)


def record_parent(session: Session, escalation_id: int, ts: str) -> bool:
    """Store the parent message's `ts` (once: a second delivery never moves the thread)."""
    statement = (
        update(EscalationRow)
        .where(EscalationRow.id == escalation_id, EscalationRow.parent_ts.is_(None))
        .values(parent_ts=ts)
    )
    return _one_row(session, statement)


def authorizations_of_open_cases(session: Session) -> dict[str, tuple[str, str]]:
    """authorization id -> (customer id, status), for every customer with an open case."""
    rows = session.execute(
        select(AuthorizationRow.id, AuthorizationRow.customer_id, AuthorizationRow.status)
        .join(EscalationRow, EscalationRow.customer_id == AuthorizationRow.customer_id)
        .where(EscalationRow.status == Status.OPEN)
    )
    return {auth_id: (customer_id, status) for auth_id, customer_id, status in rows}


def to_escalation(row: EscalationRow) -> Escalation:
    return Escalation(
        id=row.id,
        customer_id=row.customer_id,
        status=Status(row.status),
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        reason=row.reason,
        ticket=Ticket(row.ticket_id, row.ticket_url) if row.ticket_id else None,
        note=row.note,
        channel=row.channel,
        summary=row.summary,
        parent_ts=row.parent_ts,
        taken_by=row.taken_by,
        taken_at=row.taken_at,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolution=Resolution(row.resolution) if row.resolution else None,
    )


# --- follow-ups --------------------------------------------------------------------------------------


def schedule_follow_up(
    session: Session,
    customer_id: str,
    due_at: datetime,
    *,
    at: datetime,
    agent: str | None,
    escalation_id: int | None = None,
) -> bool:
    """One clock per customer and due time; True when this call set it."""
    values = {
        "customer_id": customer_id, "due_at": due_at, "escalation_id": escalation_id, "agent": agent,
        "status": FollowUpStatus.PENDING, "created_at": at,
    }
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT run through SQLAlchemy here.
    statement = (
        _insert(session)(FollowUpRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["customer_id", "due_at"])
        .returning(FollowUpRow.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def due_follow_ups(session: Session, now: datetime, limit: int = 100) -> Sequence[int]:
    """Pending follow-ups whose time has passed (strictly: at `due_at` itself the window is still open)."""
    return session.scalars(
        select(FollowUpRow.id)
        .where(FollowUpRow.status == FollowUpStatus.PENDING, FollowUpRow.due_at < now)
        .order_by(FollowUpRow.due_at)
        .limit(limit)
    ).all()


def claim_follow_up(session: Session, follow_up_id: int, now: datetime) -> FollowUp | None:
    """Mark one due follow-up fired; only the caller whose UPDATE changed the row gets it back."""
    statement = (
        update(FollowUpRow)
        .where(FollowUpRow.id == follow_up_id, FollowUpRow.status == FollowUpStatus.PENDING, FollowUpRow.due_at < now)
        .values(status=FollowUpStatus.FIRED, fired_at=now)
    )
    if not _one_row(session, statement):
        return None
    row = session.get_one(FollowUpRow, follow_up_id)
    return FollowUp(row.id, row.customer_id, row.due_at, row.escalation_id, row.agent)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _one_row(session: Session, statement: Any) -> bool:
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def untaken_escalations(session: Session, limit: int = 10) -> tuple[list[Escalation], int]:
    """Open escalations nobody has taken, oldest first (the first `limit`), and how many in all."""
    untaken = (EscalationRow.status == Status.OPEN.value, EscalationRow.taken_by.is_(None))
    rows = session.scalars(select(EscalationRow).where(*untaken).order_by(EscalationRow.opened_at).limit(limit))
    total = session.scalar(select(func.count()).select_from(EscalationRow).where(*untaken)) or 0
    return [to_escalation(row) for row in rows], total


def follow_ups_due_by(
    session: Session, until: datetime, *, agent: str | None = None, limit: int = 10
) -> tuple[list[FollowUp], int]:
    """Pending follow-ups due before `until` (of `agent`, when given), soonest first, and how many in all."""
    due = [FollowUpRow.status == FollowUpStatus.PENDING, FollowUpRow.due_at < until]
    if agent is not None:
        due.append(FollowUpRow.agent == agent)
    rows = session.scalars(select(FollowUpRow).where(*due).order_by(FollowUpRow.due_at).limit(limit))
    total = session.scalar(select(func.count()).select_from(FollowUpRow).where(*due)) or 0
    return [FollowUp(r.id, r.customer_id, r.due_at, r.escalation_id, r.agent) for r in rows], total
