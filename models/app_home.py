"""The Home tab's own query: the agent's open escalations (its counts are the digest's, `models.digest`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.digest.queries import _ESCALATIONS, ESCALATION_OPEN, escalations_exist


@dataclass(frozen=True)
class OpenEscalation:
    customer_id: str
    opened_at: datetime


def open_escalations_by(session: Session, agent: str, *, limit: int = 20) -> list[OpenEscalation] | None:
    """The agent's own open escalations, oldest first; None when escalations are not kept."""
    if not escalations_exist(session):
        return None
    e = _ESCALATIONS.c
    rows = session.execute(
        select(e.customer_id, e.opened_at)
        .where(e.status == ESCALATION_OPEN, e.opened_by == agent)
        .order_by(e.opened_at, e.customer_id)
        .limit(limit)
    ).all()
    return [OpenEscalation(customer_id, opened_at) for customer_id, opened_at in rows]
