"""Migration 0010: past internal notes stop counting as procedures; replies and imported history stay; the
customer summary the digest reads follows; downgrade puts the notes' procedures back. Both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy import select, text

from models import Database
from models.base import UTCDateTime
from models.customers import CustomerRow, ProcedureRow
from tests.digest.test_migration import alembic_config, at_revision, blank_url  # noqa: F401 (fixture)

NOTE_AT = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
REPLY_AT = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
IMPORTED_AT = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)


# Written as the code of revision 0006 wrote them (typed columns: SQLite stores datetimes as text).
_OUTBOX = sa.table("outbox", *(sa.column(n) for n in ("kind", "dedupe_key", "status", "attempts")),
                   sa.column("payload", sa.JSON), sa.column("result", sa.JSON),
                   sa.column("created_at", UTCDateTime()), sa.column("next_attempt_at", UTCDateTime()))
_PROCEDURES = sa.table("procedures", *(sa.column(n) for n in ("customer_id", "ticket_id", "agent", "template")),
                       sa.column("sent_at", UTCDateTime()))


def _post(connection: sa.Connection, key: str, public: bool, at: datetime) -> None:
    payload = {"customer_id": "C-1", "ticket_id": "4521", "agent": "U0ALICE", "template": "sce_reauth",
               "public": public}
    connection.execute(sa.insert(_OUTBOX).values(
        kind="helpdesk_note", dedupe_key=key, status="delivered", attempts=1, payload=payload,
        result={"posted_at": at.isoformat(), "url": ""}, created_at=at, next_attempt_at=at,
    ))


def _procedure(connection: sa.Connection, at: datetime, ticket: str, template: str | None) -> None:
    connection.execute(sa.insert(_PROCEDURES).values(customer_id="C-1", sent_at=at, ticket_id=ticket,
                                                     agent="U0ALICE", template=template))


def procedures(db: Database) -> list[datetime]:
    with db.sessions() as session:
        return list(session.scalars(select(ProcedureRow.sent_at).order_by(ProcedureRow.sent_at)))


def test_past_internal_notes_stop_counting_and_come_back_on_downgrade(blank_url: str) -> None:  # noqa: F811
    db = Database(blank_url)
    try:
        with at_revision(db, "0006") as connection:
            connection.execute(text("INSERT INTO customers (id, utility) VALUES ('C-1', 'SCE')"))
            _post(connection, "steps|C-1|zendesk|4521|sce_reauth|note|g1", False, NOTE_AT)
            _post(connection, "steps|C-1|zendesk|4521|sce_reauth|reply|g1", True, REPLY_AT)
            _procedure(connection, IMPORTED_AT, "", None)  # imported history: what the customer got
            _procedure(connection, NOTE_AT, "4521", "sce_reauth")  # the note's, recorded by the old code
            _procedure(connection, REPLY_AT, "4521", "sce_reauth")  # the reply's

        db.upgrade()
        assert procedures(db) == [IMPORTED_AT, REPLY_AT]
        with db.sessions() as session:
            customer = session.get(CustomerRow, "C-1")
            assert customer is not None
            assert (customer.first_procedure_at, customer.last_procedure_at) == (IMPORTED_AT, REPLY_AT)

        with db.engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0006")
        assert procedures(db) == [IMPORTED_AT, NOTE_AT, REPLY_AT]
    finally:
        db.dispose()
