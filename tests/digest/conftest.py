"""The daily digest against the Slack stand-in, on SQLite and PostgreSQL, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update

from bot.app import build_context
from bot.context import BotContext
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn
from models import Database
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.escalations import EscalationRow

CHANNEL = "C0DIGEST"
# Monday 2026-11-30, 09:00 in Los Angeles: the default digest time.
NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
DAY = date(2026, 11, 30)
FULL_SCOPE = "FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;"
PARTIAL_SCOPE = "FB=1_3_13_14;BlockDuration=monthly;"


def make_context(db: Database, slack: SlackStandIn, clock: Callable[[], datetime], **settings: Any) -> BotContext:
    """One instance of the bot: its own settings, client and outbox name, like a separate process."""
    values: dict[str, Any] = {"slack_bot_token": slack.token, "slack_api_url": slack.api_url,
                              "digest_channel": CHANNEL, **settings}
    return build_context(Settings(**values), db=db, clock=clock)


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def top_level(slack: SlackStandIn, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if m["thread_ts"] is None]


# --- customers in the states the rules tell apart ---------------------------------------------------


class Customers:
    """Writes customers, authorizations and procedures the way the importer does."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._authorizations = 0

    def add(
        self,
        customer_id: str,
        *,
        utility: str = "SCE",
        enrollment: str | None = "pending",
        last_data_at: datetime | None = None,
        authorizations: tuple[tuple[str, datetime | None, str | None, datetime | None], ...] = (),
        procedures: tuple[datetime, ...] = (),
    ) -> None:
        """`authorizations`: (status, granted_at, scope, authorized_end) each."""
        with self.db.transaction() as session:
            session.execute(insert(CustomerRow), [{
                "id": customer_id, "email": None, "email_key": None, "name": None, "utility": utility,
                "enrollment_status": enrollment, "last_data_at": last_data_at,
            }])
            for status, granted_at, scope, authorized_end in authorizations:
                self._authorizations += 1
                session.execute(insert(AuthorizationRow), [{
                    "id": f"{customer_id}-A{self._authorizations}", "customer_id": customer_id, "status": status,
                    "granted_at": granted_at, "scope": scope, "authorized_end": authorized_end, "revoked_at": None,
                }])
            for n, sent_at in enumerate(procedures):
                session.execute(insert(ProcedureRow), [{
                    "customer_id": customer_id, "sent_at": sent_at, "ticket_id": f"T-{customer_id}-{n}",
                    "agent": "U0AGENT",
                }])

    def grant(self, customer_id: str, status: str, granted_at: datetime | None, scope: str | None = FULL_SCOPE) -> None:
        """A new authorization of an existing customer; the older ones are revoked, as re-authorizing does."""
        with self.db.transaction() as session:
            session.execute(update(AuthorizationRow).where(AuthorizationRow.customer_id == customer_id)
                            .values(status="revoked", revoked_at=granted_at))
            self._authorizations += 1
            session.execute(insert(AuthorizationRow), [{
                "id": f"{customer_id}-A{self._authorizations}", "customer_id": customer_id, "status": status,
                "granted_at": granted_at, "scope": scope, "authorized_end": None, "revoked_at": None,
            }])

    def stuck(self, customer_id: str, *, days: int = 30, utility: str = "SCE") -> None:
        """A customer past the verification window: re-authorize (rule 8)."""
        self.add(customer_id, utility=utility,
                 authorizations=(("active", NOW - timedelta(days=days), FULL_SCOPE, None),))

    def healthy(self, customer_id: str) -> None:
        self.add(customer_id, enrollment="verified", last_data_at=NOW - timedelta(hours=3),
                 authorizations=(("active", NOW - timedelta(days=90), FULL_SCOPE, None),))


@pytest.fixture
def customers(db: Database) -> Customers:
    return Customers(db)


# --- open escalations --------------------------------------------------------------------------------


class EscalationTable:
    """Writes open escalations with the columns the digest and the Home tab read; the rest get any valid value."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self, customer_id: str, opened_by: str, opened_at: datetime) -> None:
        with self.db.transaction() as session:
            session.add(EscalationRow(customer_id=customer_id, status="open", opened_by=opened_by,
                                      opened_at=opened_at, reason="x", channel="x", summary="x"))


@pytest.fixture
def escalations(db: Database) -> EscalationTable:
    return EscalationTable(db)
