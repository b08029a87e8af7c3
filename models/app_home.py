"""The Home tab's own query: the open cases the agent took (its counts are the digest's, `models.digest`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.escalations import Status
from models.escalations import EscalationRow


@dataclass(frozen=True)
class OpenEscalation:
    customer_id: str
    opened_at: datetime
    channel: str = ""
    parent_ts: str | None = None


def cases_taken_by(session: Session, agent: str, *, limit: int = 20) -> list[OpenEscalation]:
    """The open cases the agent took (not the ones they opened: whoever took a case works it), oldest first."""
    e = EscalationRow
    rows = session.execute(
        select(e.customer_id, e.opened_at, e.channel, e.parent_ts)
        .where(e.status == Status.OPEN.value, e.taken_by == agent)
        .order_by(e.opened_at, e.customer_id)
        .limit(limit)
    ).all()
    return [OpenEscalation(customer_id, opened_at, channel, ts) for customer_id, opened_at, channel, ts in rows]
