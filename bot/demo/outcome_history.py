"""A deterministic history of procedures and what followed them, for the demo and the benchmarks.

The transitions are written as rows, as `record_transitions` would have written them week after week;
history is declared to start `weeks` before `now`. Each utility verifies at its own pace (SDG&E slower
than the article's 5-7 days, so the report's wait warning has something to say).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from bot.demo.population import _copy_rows
from models import Database
from models.customers import CustomerRow, ProcedureRow
from models.escalations import EscalationRow
from models.history import HistoryStartRow, TransitionKind, TransitionRow, record_transitions

# (low, mode, high) days from the new grant to the first meter data, per utility.
VERIFICATION_DAYS = {"SCE": (2.0, 5.5, 12.0), "PGE": (2.0, 4.5, 10.0), "SDGE": (4.0, 9.0, 16.0)}
STEPS_SHARE = 0.15  # customers sent the steps at least once in the span
BACKGROUND_SHARE = 0.3  # customers who re-authorized and reconnected on their own


@dataclass
class _Rows:
    procedures: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.procedures) + len(self.transitions) + len(self.escalations)


def insert_outcome_history(db: Database, *, now: datetime, weeks: int, seed: int = 20261130,
                           batch: int = 20_000) -> tuple[int, int]:
    """Generate `weeks` of history for every customer in the database; returns (procedures, transitions)."""
    start = now - timedelta(weeks=weeks)
    span = (now - start).total_seconds()
    rng = random.Random(seed)
    with db.reading() as session:
        customers = session.execute(select(CustomerRow.id, CustomerRow.utility).order_by(CustomerRow.id)).all()
    rows = _Rows()
    totals = [0, 0]

    def moment() -> datetime:
        return start + timedelta(seconds=rng.random() * span)

    def event(customer_id: str, kind: TransitionKind, at: datetime) -> None:
        if at <= now:
            rows.transitions.append({"customer_id": customer_id, "authorization_id": None, "kind": kind.value,
                                     "at": at, "observed_at": at})

    def flush() -> None:
        _write(db, rows)
        totals[0] += len(rows.procedures)
        totals[1] += len(rows.transitions)
        rows.procedures.clear()
        rows.transitions.clear()
        rows.escalations.clear()

    for n, (customer_id, utility) in enumerate(customers):
        low, mode, high = VERIFICATION_DAYS.get(utility, VERIFICATION_DAYS["SCE"])
        if rng.random() < BACKGROUND_SHARE:
            granted = moment()
            event(customer_id, TransitionKind.GRANTED, granted)
            event(customer_id, TransitionKind.CONNECTED, granted + timedelta(days=rng.triangular(low, high, mode)))
        if rng.random() < STEPS_SHARE:
            sent = moment()
            sends = [sent]
            if rng.random() < 0.12:  # repeated: the steps again, within the month
                sends.append(sent + timedelta(days=rng.uniform(3, 25)))
            for k, at in enumerate(sends):
                if at <= now:
                    rows.procedures.append({"customer_id": customer_id, "sent_at": at, "ticket_id": f"H{n}-{k}",
                                            "agent": "U0AGENT"})
            if rng.random() < 0.72:
                granted = sent + timedelta(days=rng.uniform(0.1, 6))
                event(customer_id, TransitionKind.GRANTED, granted)
                if rng.random() < 0.88:
                    connected = granted + timedelta(days=rng.triangular(low, high, mode))
                    event(customer_id, TransitionKind.CONNECTED, connected)
            elif rng.random() < 0.3:
                opened = sent + timedelta(days=rng.uniform(7, 20))
                if opened <= now:
                    rows.escalations.append({
                        "customer_id": customer_id, "status": "resolved", "opened_at": opened,
                        "opened_by": "U0AGENT", "reason": "not connected a week after the steps",
                        "channel": "C0ESCALATE", "summary": customer_id, "resolved_at": opened,
                    })
        if len(rows) >= batch:
            flush()
    flush()
    with db.transaction() as session:
        # What the database holds now is the observed state (a baseline writes no transitions), and
        # history began when the generated one does.
        session.execute(delete(HistoryStartRow))
        record_transitions(session, now)
        session.execute(update(HistoryStartRow).values(started_at=start))
    return totals[0], totals[1]


def _write(db: Database, rows: _Rows) -> None:
    copy = db.engine.dialect.name == "postgresql"
    with db.transaction() as session:
        for table, values in ((ProcedureRow, rows.procedures), (TransitionRow, rows.transitions),
                              (EscalationRow, rows.escalations)):
            if values and copy and table is not EscalationRow:
                _copy_rows(session, table.__tablename__, values)
            elif values:
                session.execute(insert(table), values)
