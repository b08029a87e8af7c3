"""What followed each procedure (migration 0019) follows every write to procedures, transitions, escalations
and customers, whoever writes: the ORM, bulk statements, hand-run SQL, history pruning; on SQLite and
PostgreSQL, and when two PostgreSQL transactions write for the same customer at once. Each check compares the
stored rows with the facts worked out again in Python from the rows they are made of."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, insert, select, text, update

from models import Database
from models.customers import CustomerRow, ProcedureRow
from models.escalations import EscalationRow
from models.history import TransitionRow, prune_history
from models.outcomes import ProcedureOutcomeRow

T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
DAY = timedelta(days=1)
Facts = tuple[str, str, datetime | None, datetime | None, datetime | None, datetime | None, datetime | None]


def expected(db: Database) -> dict[int, Facts]:
    """The facts of every procedure, from the procedures, transitions and escalations as they are."""
    with db.transaction() as session:
        procedures = session.execute(select(ProcedureRow.id, ProcedureRow.customer_id, ProcedureRow.sent_at)).all()
        transitions = session.execute(select(TransitionRow.customer_id, TransitionRow.kind, TransitionRow.at)).all()
        escalations = session.execute(select(EscalationRow.customer_id, EscalationRow.opened_at)).all()
        utilities = dict(session.execute(select(CustomerRow.id, CustomerRow.utility)).all())

    def first(moments: Any) -> datetime | None:
        return min(moments, default=None)

    def first_transition(customer: str, kind: str, after: datetime | None) -> datetime | None:
        if after is None:
            return None
        return first(at for c, k, at in transitions if c == customer and k == kind and at >= after)

    facts = {}
    for pid, customer, sent in procedures:
        granted = first_transition(customer, "granted", sent)
        facts[pid] = (
            customer, utilities[customer], granted,
            first_transition(customer, "connected", sent),
            first_transition(customer, "connected", granted),
            first(s for _, c, s in procedures if c == customer and s > sent),
            first(at for c, at in escalations if c == customer and at >= sent),
        )
    return facts


def stored(db: Database) -> dict[int, Facts]:
    o = ProcedureOutcomeRow
    with db.transaction() as session:
        rows = session.execute(select(o.procedure_id, o.customer_id, o.utility, o.granted_at, o.connected_at,
                                      o.verified_at, o.next_sent_at, o.escalated_at)).all()
    return {pid: tuple(facts) for pid, *facts in rows}  # type: ignore[misc]


def assert_in_step(db: Database) -> dict[int, Facts]:
    found = stored(db)
    assert found == expected(db)
    return found


def add_customers(db: Database, *ids: str, utility: str = "SCE") -> None:
    with db.transaction() as session:
        session.execute(insert(CustomerRow), [{"id": cid, "utility": utility} for cid in ids])


def procedure(customer: str, sent: datetime, ticket: str) -> dict[str, Any]:
    return {"customer_id": customer, "sent_at": sent, "ticket_id": ticket}


def transition(customer: str, kind: str, at: datetime) -> dict[str, Any]:
    return {"customer_id": customer, "authorization_id": None, "kind": kind, "at": at, "observed_at": at}


def escalation(customer: str, opened: datetime) -> dict[str, Any]:
    return {"customer_id": customer, "status": "open", "opened_at": opened, "opened_by": "U0A", "reason": "r",
            "channel": "C0ESC", "summary": "s"}


def procedure_ids(db: Database, customer: str) -> list[int]:
    with db.transaction() as session:
        return list(session.scalars(select(ProcedureRow.id).where(ProcedureRow.customer_id == customer)
                                    .order_by(ProcedureRow.sent_at)))


def test_what_followed_each_procedure_is_kept_through_every_kind_of_write(db: Database) -> None:
    add_customers(db, "C-1", "C-2")
    with db.transaction() as session:  # the history before the steps counts for nothing
        session.execute(insert(TransitionRow), [transition("C-1", "granted", T0 - DAY),
                                                transition("C-1", "connected", T0 - DAY)])
        session.execute(insert(ProcedureRow), [procedure("C-1", T0, "T-1"), procedure("C-2", T0, "T-2")])
    first, = procedure_ids(db, "C-1")
    assert assert_in_step(db)[first][2:] == (None, None, None, None, None)

    with db.transaction() as session:  # the ORM: a connection before the grant, then the grant and its connection
        session.add(TransitionRow(customer_id="C-1", kind="connected", at=T0 + DAY, observed_at=T0 + DAY))
        session.add(TransitionRow(customer_id="C-1", kind="granted", at=T0 + 2 * DAY, observed_at=T0 + 2 * DAY))
        session.add(TransitionRow(customer_id="C-1", kind="connected", at=T0 + 8 * DAY, observed_at=T0 + 8 * DAY))
    assert assert_in_step(db)[first][2:5] == (T0 + 2 * DAY, T0 + DAY, T0 + 8 * DAY)

    with db.transaction() as session:  # steps sent again, then an escalation: the first one's next and escalation
        session.execute(insert(ProcedureRow), [procedure("C-1", T0 + 10 * DAY, "T-3")])
        session.execute(insert(EscalationRow), [escalation("C-1", T0 + 12 * DAY)])
    found = assert_in_step(db)
    assert found[first][5:] == (T0 + 10 * DAY, T0 + 12 * DAY)

    with db.transaction() as session:  # a change the facts are not made of leaves them as they were
        session.execute(update(EscalationRow).values(status="resolved", taken_by="U0B"))
        session.execute(update(ProcedureRow).values(agent="U0C"))
    assert stored(db) == found

    with db.transaction() as session:  # moved to another customer: both customers' facts change
        session.execute(update(TransitionRow).where(TransitionRow.at == T0 + 2 * DAY).values(customer_id="C-2"))
        session.execute(update(ProcedureRow).where(ProcedureRow.ticket_id == "T-3").values(sent_at=T0 + 20 * DAY))
    found = assert_in_step(db)
    assert found[first][2] is None and found[procedure_ids(db, "C-2")[0]][2] == T0 + 2 * DAY

    with db.engine.begin() as connection:  # hand-run SQL
        connection.execute(text("DELETE FROM escalations"))
        connection.execute(text("UPDATE customers SET utility = 'PGE' WHERE id = 'C-1'"))
    found = assert_in_step(db)
    assert found[first][1] == "PGE" and found[first][6] is None

    with db.transaction() as session:  # pruning the history: what it no longer shows is gone from the outcome
        assert prune_history(session, T0 + 400 * DAY, timedelta(days=395)) == 4
    assert assert_in_step(db)[first][2:5] == (None, T0 + 8 * DAY, None)

    with db.transaction() as session:  # a customer deleted takes its procedures and their outcomes
        session.execute(delete(CustomerRow).where(CustomerRow.id == "C-1"))
    assert set(assert_in_step(db)) == set(procedure_ids(db, "C-2"))


def test_many_customers_in_one_statement(db: Database) -> None:
    customers = [f"C-{n}" for n in range(40)]
    add_customers(db, *customers)
    with db.transaction() as session:
        session.execute(insert(ProcedureRow), [procedure(c, T0 + n * DAY, f"T-{n}") for n, c in enumerate(customers)])
        session.execute(insert(ProcedureRow), [procedure(c, T0 + 30 * DAY, f"U-{n}") for n, c in enumerate(customers)])
    with db.transaction() as session:
        session.execute(insert(TransitionRow), [
            transition(c, kind, T0 + (n % 7 + offset) * DAY)
            for n, c in enumerate(customers) for kind, offset in (("granted", 3), ("connected", 5), ("connected", 1))
        ])
    found = assert_in_step(db)
    assert sum(facts[4] is not None for facts in found.values()) > 0


@pytest.mark.postgres
def test_two_postgresql_writers_for_one_customer_leave_the_outcome_whole(postgres_db: Database) -> None:
    """One transaction records the grant after the steps, another the connection after it; the second one's
    trigger waits for the first to commit and then sees the grant. Without the lock the verification time
    would be missing."""
    db = postgres_db
    add_customers(db, "C-RACE")
    with db.transaction() as session:
        session.execute(insert(ProcedureRow), [procedure("C-RACE", T0, "T-1")])
    url = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    first_inserted = threading.Event()
    errors: list[BaseException] = []
    statement = ("INSERT INTO transitions (customer_id, kind, at, observed_at) "
                 "VALUES ('C-RACE', %s, %s, %s)")

    def second() -> None:
        try:
            first_inserted.wait(10)
            with psycopg.connect(url) as connection:  # blocks in the trigger until the first commits
                connection.execute(statement, ("connected", T0 + 6 * DAY, T0 + 6 * DAY))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with psycopg.connect(url) as connection:
        connection.execute(statement, ("granted", T0 + DAY, T0 + DAY))
        first_inserted.set()
        thread.join(0.5)
        assert thread.is_alive(), "the second writer should wait for the first one's lock"
    thread.join(10)
    assert not errors and not thread.is_alive()
    facts, = assert_in_step(db).values()
    assert facts[2:5] == (T0 + DAY, T0 + 6 * DAY, T0 + 6 * DAY)


@pytest.mark.postgres
def test_truncating_the_history_on_postgresql_empties_what_followed(postgres_db: Database) -> None:
    db = postgres_db
    add_customers(db, "C-1")
    with db.transaction() as session:
        session.execute(insert(ProcedureRow), [procedure("C-1", T0, "T-1")])
        session.execute(insert(TransitionRow), [transition("C-1", "granted", T0 + DAY)])
    (facts,) = assert_in_step(db).values()
    assert facts[2] == T0 + DAY
    with db.engine.begin() as connection:
        connection.execute(text("TRUNCATE transitions"))
    (facts,) = assert_in_step(db).values()
    assert facts[2] is None
    with db.engine.begin() as connection:
        connection.execute(text("TRUNCATE procedures CASCADE"))
    assert assert_in_step(db) == {}
