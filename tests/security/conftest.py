"""The real app over HTTP with an allow-list: U0ALICE listed by id, the S0LEADS group (U0BOB) by membership."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.demo.harness import LocalBot
from bot.settings import Settings
from bot.standins.server import poll
from bot.standins.slack_api import SlackStandIn
from models import Database
from models.audit import AuditRow
from models.customers import LookupRow
from models.escalations import EscalationRow
from models.outbox import OutboxRow
from tests.clock import Clock
from tests.demo_dataset import load_demo_dataset

LISTED = "U0ALICE"
GROUP = "S0LEADS"
MEMBER = "U0BOB"
STRANGER = "U0MALLORY"
CHANNEL = "C0ESCALATE"


@pytest.fixture
def guarded(sqlite_db: Database, slack: SlackStandIn, clock: Clock) -> Iterator[LocalBot]:
    """On SQLite only: the guard refuses before any query, so the database makes no difference here."""
    db = sqlite_db
    load_demo_dataset(db)
    slack.set_usergroup(GROUP, [MEMBER])
    settings = Settings(allowed_users=frozenset({LISTED}), allowed_usergroups=(GROUP,), escalation_channel=CHANNEL)
    with LocalBot(db, clock=clock, settings=settings, slack=slack) as bot:
        yield bot


def counts(db: Database) -> dict[str, int]:
    """Everything an allowed request would have written."""
    with db.reading() as session:
        return {
            "lookups": session.scalar(select(func.count()).select_from(LookupRow)) or 0,
            "escalations": session.scalar(select(func.count()).select_from(EscalationRow)) or 0,
            "outbox": session.scalar(select(func.count()).select_from(OutboxRow)) or 0,
            "acts": session.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.action != "refused"))
            or 0,
        }


def refusals(db: Database) -> list[tuple[str, str, str | None]]:
    with db.reading() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "refused").order_by(AuditRow.id)).all()
    return [(r.agent, r.source, r.detail) for r in rows]


def wait_for_refusals(db: Database, count: int, timeout: float = 5.0) -> list[tuple[str, str, str | None]]:
    """Refusals are audited just after the response (the ack never waits for the database)."""
    found, enough = poll(lambda: refusals(db), lambda rows: len(rows) >= count, timeout)
    assert enough, f"expected {count} refusal rows, got {found}"
    return found
