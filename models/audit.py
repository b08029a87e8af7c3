"""The audit trail: who did what to which customer, when and from where; and its retention.

Lookups have their own table since 0001 (`lookups`, written by `/reauth-check` and `reauth-bot check`);
every other act (posting steps, replying to a customer, escalating, taking, resolving, refusals) is a row
of `audit_events`. `audit_trail` reads both as one list, so the CLI and its exports see one trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Integer, String, delete, literal, select, union_all
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime
from models.claims import insert_if_absent
from models.customers import LookupRow


class AuditRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    # A Slack user id (U.../W...), `cli:<login>`, or '' when a refused request carried none.
    agent: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    # Not a foreign key: the trail outlives a customer deleted by a later import.
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    # A ticket id, a case id, or why a request was refused: ids and codes, never free text.
    detail: Mapped[str | None] = mapped_column(String(200))


class AuditPruneRow(Base):
    """One row per day the trail was pruned: the claim that makes it once a day across instances."""

    __tablename__ = "audit_prunes"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    pruned_at: Mapped[datetime]
    removed: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    agent: str
    action: str
    customer_id: str | None
    source: str
    detail: str | None


# Lookups were stored with the source "slack" or "cli"; the trail names where they came from.
_LOOKUP_SOURCES = {"slack": "slash_command"}


def record(
    session: Session, *, at: datetime, agent: str, action: str, source: str,
    customer_id: str | None = None, detail: str | None = None,
) -> None:
    """Add one audit row in the caller's transaction, so it commits (or not) with the act it records."""
    session.add(AuditRow(at=at, agent=agent[:64], action=action, customer_id=customer_id, source=source,
                         detail=detail[:200] if detail else None))


def audit_trail(
    session: Session, *, customer_id: str | None = None, agent: str | None = None, since: datetime | None = None,
) -> list[AuditEntry]:
    """The trail, oldest first, lookups included."""
    lookups = select(
        LookupRow.looked_up_at.label("at"), LookupRow.agent.label("agent"), literal("lookup").label("action"),
        LookupRow.customer_id.label("customer_id"), LookupRow.source.label("source"),
        literal(None, String()).label("detail"),
    )
    events = select(AuditRow.at, AuditRow.agent, AuditRow.action, AuditRow.customer_id, AuditRow.source,
                    AuditRow.detail)
    if customer_id is not None:
        lookups = lookups.where(LookupRow.customer_id == customer_id)
        events = events.where(AuditRow.customer_id == customer_id)
    if agent is not None:
        lookups = lookups.where(LookupRow.agent == agent)
        events = events.where(AuditRow.agent == agent)
    if since is not None:
        lookups = lookups.where(LookupRow.looked_up_at >= since)
        events = events.where(AuditRow.at >= since)
    trail = union_all(lookups, events).subquery("trail")
    rows = session.execute(select(trail).order_by(trail.c.at, trail.c.action, trail.c.customer_id))
    return [
        AuditEntry(_utc(at), agent_, action, customer, _LOOKUP_SOURCES.get(source, source), detail)
        for at, agent_, action, customer, source, detail in rows
    ]


def _utc(value: datetime | str) -> datetime:
    # A UNION's column loses the UTCDateTime type: read it back as the table would.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    result = UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
    assert result is not None
    return result


def prune(session: Session, *, day: date, now: datetime, older_than: datetime) -> int | None:
    """Delete the trail before `older_than`, once per `day` however many instances try: None when
    another instance (or an earlier pass) already pruned that day, else the number of rows removed."""
    if not insert_if_absent(session, AuditPruneRow.__table__, {"day": day, "pruned_at": now, "removed": 0},
                            ["day"]):
        return None
    removed = 0
    for table, column in ((AuditRow, AuditRow.at), (LookupRow, LookupRow.looked_up_at)):
        result = session.execute(delete(table).where(column < older_than))
        removed += int(getattr(result, "rowcount", 0) or 0)
    session.get_one(AuditPruneRow, day).removed = removed
    return removed

