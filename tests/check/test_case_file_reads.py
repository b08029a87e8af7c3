"""What one `/reauth-check` asks the database, on SQLite and PostgreSQL: every check pays for these statements,
so their number is pinned here. The customer and whether an open case exists come in one statement, the
lookup is recorded, the authorizations read, and the procedures only when the customer has any.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.features.check.service import check_with_helpdesk
from commands.check import Report
from models import Database
from models.escalations import EscalationRow
from tests.post_steps.conftest import NOW, add_customer


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on `db` inside the block (transaction control left out)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SELECT 1", ";")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def checked(db: Database, text: str) -> Report:
    outcome = check_with_helpdesk(db, None, text, now=NOW, agent="U0AGENT", source="slack")
    assert isinstance(outcome, Report)
    return outcome


def test_a_check_is_three_statements_when_the_customer_has_no_procedures(db: Database) -> None:
    add_customer(db, "C-7001")
    with statements(db) as seen:
        report = checked(db, "C-7001")
    assert len(seen) == 3, seen  # the customer (and any open case), the lookup row, the authorizations
    assert not any("procedures" in statement for statement in seen)
    assert len(report.authorizations) == 2 and report.procedures == () and not report.escalated


def test_the_procedures_are_read_when_the_customer_has_some(db: Database) -> None:
    add_customer(db, "C-7002", procedures_days_ago=(3, 12))
    with statements(db) as seen:
        report = checked(db, "c-7002@example.com")
    assert len(seen) == 4, seen
    assert [p.sent_at for p in report.procedures] == [NOW - timedelta(days=12), NOW - timedelta(days=3)]


def test_an_open_case_is_read_with_the_customer(db: Database) -> None:
    add_customer(db, "C-7003")
    add_customer(db, "C-7004")
    with db.transaction() as session:
        for customer, status in (("C-7003", "open"), ("C-7004", "resolved")):
            session.add(EscalationRow(customer_id=customer, status=status, opened_at=NOW - timedelta(days=1),
                                      opened_by="U0LEAD", reason="stuck", channel="C0ESC", summary="-"))
    with statements(db) as seen:
        assert checked(db, "C-7003").escalated
    assert len(seen) == 3, seen
    assert not checked(db, "C-7004").escalated  # a resolved case is not an open one
