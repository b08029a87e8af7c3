"""The Home tab's own query: the agent's open escalations (its counts are the digest's, `models.digest`)."""

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


def open_escalations_by(session: Session, agent: str, *, limit: int = 20) -> list[OpenEscalation]:
    """The agent's own open escalations, oldest first."""
    e = EscalationRow
    rows = session.execute(
        select(e.customer_id, e.opened_at)
        .where(e.status == Status.OPEN.value, e.opened_by == agent)
        .order_by(e.opened_at, e.customer_id)
        .limit(limit)
    ).all()
    return [OpenEscalation(customer_id, opened_at) for customer_id, opened_at in rows]
