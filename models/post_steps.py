"""The queries behind "Post steps to ticket": posts waiting in the outbox, and the procedure a post records.

The posts themselves are outbox rows (models.outbox): claimed by INSERT on their unique key,
delivered under a lease. Nothing here decides who posts; these only read and record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models.claims import insert_if_absent
from models.customers import CustomerRow, ProcedureRow
from models.outbox import OutboxRow, OutboxStatus


@dataclass(frozen=True)
class PostState:
    """One post's outbox row, as the agent's answer needs it."""

    dedupe_key: str
    status: OutboxStatus
    attempts: int
    leased: bool  # a delivery is sending it right now
    payload: dict[str, Any]
    result: dict[str, Any] | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime


def post_state(session: Session, dedupe_key: str) -> PostState | None:
    row = session.scalars(select(OutboxRow).where(OutboxRow.dedupe_key == dedupe_key)).one_or_none()
    return _state(row) if row else None


def queued_posts(session: Session, kind: str, key_prefix: str, limit: int = 20) -> list[PostState]:
    """Posts of `kind` still waiting to be delivered whose key starts with `key_prefix`."""
    pattern = _escape_like(key_prefix) + "%"
    rows = session.scalars(_QUEUED, {"kind": kind, "pattern": pattern, "limit": limit})
    return [_state(row) for row in rows]


# Built once: every click asks it, and building and keying the statement cost more than running it.
_QUEUED = (
    select(OutboxRow)
    .where(
        OutboxRow.status == OutboxStatus.PENDING,
        OutboxRow.kind == bindparam("kind"),
        OutboxRow.dedupe_key.like(bindparam("pattern"), escape="\\"),
    )
    .order_by(OutboxRow.created_at.desc())
    .limit(bindparam("limit"))
)


def record_procedure(
    session: Session, *, customer_id: str, sent_at: datetime, ticket_id: str, agent: str, template: str
) -> bool:
    """Remember that steps were sent, so the rules count them; False if the same one is already there."""
    if session.get(CustomerRow, customer_id) is None:
        return False  # removed since the click: nothing to count it against
    return insert_if_absent(
        session,
        ProcedureRow.__table__,
        {"customer_id": customer_id, "sent_at": sent_at, "ticket_id": ticket_id, "agent": agent[:64],
         "template": template[:64]},
        ["customer_id", "sent_at", "ticket_id"],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _state(row: OutboxRow) -> PostState:
    return PostState(
        dedupe_key=row.dedupe_key,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        leased=row.leased_until is not None,
        payload=dict(row.payload),
        result=dict(row.result) if row.result else None,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )
