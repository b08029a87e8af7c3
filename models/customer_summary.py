"""The customer summary of migration 0006, refreshed for many customers in one statement.

The database's triggers keep the summary right for every writer. On SQLite they fire per row, which for an
import of a million authorizations is a million small UPDATEs; such an import defers them inside its own
transaction (`deferred`) and then refreshes the summaries of the customers it touched at once (`refresh`).
PostgreSQL's triggers already run once per statement, so there nothing is deferred.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base


class SummaryDeferralRow(Base):
    """Present only inside an import's transaction (so no other writer ever sees it): SQLite's summary
    triggers (migration 0008) skip their per-row work while it exists."""

    __tablename__ = "summaries_deferred"

    id: Mapped[int] = mapped_column(primary_key=True)


# The statements the triggers run, for a set of customers: (columns, aggregates, table, which rows).
_SUMMARIES = (
    ("live_authorizations, live_newest_grant, live_function_blocks, live_earliest_end",
     "count(*), max(granted_at), coalesce(max(function_blocks), 0), min(authorized_end)",
     "authorizations", "status IN ('active', 'pending')"),
    ("first_procedure_at, last_procedure_at", "min(sent_at), max(sent_at)", "procedures", "1 = 1"),
)


@contextlib.contextmanager
def deferred(session: Session) -> Iterator[bool]:
    """Suspend SQLite's per-row summary triggers for the rest of this transaction's block; yields whether
    it did (the caller then owes a `refresh`)."""
    if session.get_bind().dialect.name != "sqlite":
        yield False
        return
    session.execute(text("INSERT INTO summaries_deferred (id) VALUES (1)"))
    yield True
    session.execute(text("DELETE FROM summaries_deferred"))


def refresh(session: Session, customers: str, *, authorizations: bool = True, procedures: bool = True) -> None:
    """Recompute the summary of the customers whose ids the SQL query `customers` selects."""
    for (columns, aggregates, table, where), wanted in zip(_SUMMARIES, (authorizations, procedures), strict=True):
        if wanted:
            session.execute(text(
                f"UPDATE customers SET ({columns}) = (SELECT {aggregates} FROM {table} "
                f"WHERE {table}.customer_id = customers.id AND {where}) WHERE id IN ({customers})"
            ))
