"""Generated histories with known answers: events applied in time order, each observed as an import would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from models import Database
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.escalations import EscalationRow
from models.history import record_transitions

PACIFIC = ZoneInfo("America/Los_Angeles")
HISTORY_START = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)
# The demo's moment: Monday 2026-11-30 09:00 in California.
AS_OF = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def pacific(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PACIFIC).astimezone(UTC)


@dataclass
class History:
    """Customers and what happened to them; `load` writes it, observing after every event."""

    customers: dict[str, str] = field(default_factory=dict)  # id -> utility
    events: list[tuple[datetime, str, str]] = field(default_factory=list)  # (when, what, customer)

    def customer(self, customer_id: str, utility: str = "SCE") -> History:
        self.customers[customer_id] = utility
        return self

    def steps(self, customer_id: str, at: datetime) -> History:
        self.events.append((at, "steps", customer_id))
        return self

    def grant(self, customer_id: str, at: datetime) -> History:
        self.events.append((at, "grant", customer_id))
        return self

    def connect(self, customer_id: str, at: datetime) -> History:
        self.events.append((at, "connect", customer_id))
        return self

    def escalate(self, customer_id: str, at: datetime) -> History:
        self.events.append((at, "escalate", customer_id))
        return self

    def load(self, db: Database) -> None:
        with db.transaction() as session:
            for customer_id, utility in self.customers.items():
                session.add(CustomerRow(id=customer_id, utility=utility, enrollment_status="pending"))
            session.flush()
            record_transitions(session, HISTORY_START)
        for number, (at, what, customer_id) in enumerate(sorted(self.events)):
            with db.transaction() as session:
                if what == "steps":
                    session.add(ProcedureRow(customer_id=customer_id, sent_at=at, ticket_id=f"T{number}", agent="sam"))
                elif what == "grant":
                    session.add(AuthorizationRow(id=f"A{number}", customer_id=customer_id, status="pending",
                                                 granted_at=at))
                elif what == "connect":
                    session.execute(update(CustomerRow).where(CustomerRow.id == customer_id)
                                    .values(enrollment_status="verified", last_data_at=at))
                else:
                    session.add(EscalationRow(customer_id=customer_id, status="open", opened_at=at, opened_by="U1",
                                              reason="not connected", channel="C0ESCALATE", summary=customer_id))
                session.flush()
                record_transitions(session, at)


def known_answers() -> History:
    """The history every known-answer test reads (the answers are worked out in test_report.py).

    SCE, week of Mon Oct 26 (daylight saving time ends Sun Nov 1 at 2:00 in California):
      C1-C4 re-authorize and connect; verification 3, 5, 6 and 9 days.
      C5 never does anything. C6 connected before the steps. C7 gets the steps again 10 days later.
      C8 is escalated 8 days after. C9 gets them Sun Nov 1 at 23:30 PST (still that week).
    SCE, week of Mon Nov 2: C10 at 00:30 PST on Monday, and C7's second procedure.
    PG&E, weeks of Nov 9 and Nov 16: verification 2 and 8 days, then 10 days (p90 over the 7-day wait).
    C0's steps predate history (August): not counted.
    """
    history = History()
    for n in range(11):
        history.customer(f"C{n}")
    for n in range(1, 4):
        history.customer(f"P{n}", "PGE")
    monday = pacific(2026, 10, 26, 10)
    history.steps("C0", pacific(2026, 8, 20, 10))
    for customer, grant_after, verification in (("C1", 1.0, 3.0), ("C2", 1.0, 5.0), ("C3", 0.5, 6.0),
                                                ("C4", 1.0, 9.0)):
        history.steps(customer, monday).grant(customer, monday + grant_after * DAY)
        history.connect(customer, monday + (grant_after + verification) * DAY)
    history.steps("C5", monday)
    history.connect("C6", monday - 3 * DAY).steps("C6", monday)
    history.steps("C7", monday + DAY).steps("C7", monday + 11 * DAY)
    history.steps("C8", monday).escalate("C8", monday + 8 * DAY)
    history.steps("C9", pacific(2026, 11, 1, 23, 30))
    history.steps("C10", pacific(2026, 11, 2, 0, 30))
    for customer, sent, verification in (("P1", pacific(2026, 11, 9, 10), 2.0), ("P2", pacific(2026, 11, 10, 10), 8.0),
                                         ("P3", pacific(2026, 11, 16, 10), 10.0)):
        history.steps(customer, sent).grant(customer, sent + DAY).connect(customer, sent + (1 + verification) * DAY)
    return history
