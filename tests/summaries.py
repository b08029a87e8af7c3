"""The customer summary (migration 0006) read off the customers' rows, and worked out again from the rows it sums up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from models import Database
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow

LIVE = ("active", "pending")


def summaries(db: Database) -> dict[str, tuple[Any, ...]]:
    c = CustomerRow
    with db.sessions() as session:
        rows = session.execute(select(
            c.id, c.live_authorizations, c.live_newest_grant, c.live_function_blocks, c.live_earliest_end,
            c.first_procedure_at, c.last_procedure_at,
        )).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def recomputed(db: Database) -> dict[str, tuple[Any, ...]]:
    """The same summary worked out from the rows themselves, without the triggers."""
    a, p = AuthorizationRow, ProcedureRow
    with db.sessions() as session:
        ids = session.scalars(select(CustomerRow.id)).all()
        live = {row[0]: row[1:] for row in session.execute(
            select(a.customer_id, func.count(), func.max(a.granted_at), func.max(a.function_blocks),
                   func.min(a.authorized_end)).where(a.status.in_(LIVE)).group_by(a.customer_id)
        )}
        sent = {row[0]: row[1:] for row in session.execute(
            select(p.customer_id, func.min(p.sent_at), func.max(p.sent_at)).group_by(p.customer_id)
        )}
    return {cid: (*live.get(cid, (0, None, 0, None)), *sent.get(cid, (None, None))) for cid in ids}


def assert_in_step(db: Database) -> dict[str, tuple[Any, ...]]:
    found = summaries(db)
    assert found == recomputed(db)
    return found
