"""Customers, their authorizations at the utility, the steps support sent them, and who looked them up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.function_blocks import function_block_mask

# Every writer of an imported column other than `reauth-bot import` sets it to NULL (the Green Button sync
# does), or a re-import of the same line would leave that writer's change in place.
_FINGERPRINT_DOC = (
    "commands.imports.fingerprint of the CSV fields the row was last imported from; NULL when another writer "
    "wrote it since. A re-import reads and checks only the rows whose fields differ from it."
)


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    # Lower-cased e-mail, indexed: lookups are case-insensitive on SQLite and PostgreSQL alike.
    email_key: Mapped[str | None] = mapped_column(String(320), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    utility: Mapped[str] = mapped_column(String(8))
    enrollment_status: Mapped[str | None] = mapped_column(String(16))
    last_data_at: Mapped[datetime | None]
    # What the rules read of the customer's authorizations and procedures, summed up: how many are
    # pending or active, their newest grant, function blocks and earliest consent end; the first and
    # last procedure sent. Written only by the database's triggers (migration 0006) whenever one of
    # those rows changes; read by the digest instead of joining a million customers to them.
    live_authorizations: Mapped[int] = mapped_column(server_default="0")
    live_newest_grant: Mapped[datetime | None] = mapped_column()
    live_function_blocks: Mapped[int] = mapped_column(BigInteger, server_default="0")
    live_earliest_end: Mapped[datetime | None] = mapped_column()
    first_procedure_at: Mapped[datetime | None] = mapped_column()
    last_procedure_at: Mapped[datetime | None] = mapped_column()
    import_fingerprint: Mapped[int | None] = mapped_column(BigInteger, doc=_FINGERPRINT_DOC)


def _function_blocks_of(context: DefaultExecutionContext) -> int:
    return function_block_mask(context.get_current_parameters().get("scope"))  # type: ignore[no-untyped-call]


class AuthorizationRow(Base):
    __tablename__ = "authorizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime | None]
    scope: Mapped[str | None] = mapped_column(Text)
    authorized_end: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The scope's function blocks as a bitmask (models.function_blocks), so the digest judges scopes in
    # SQL exactly as parse_scope does; filled from `scope` whenever a writer does not give it.
    function_blocks: Mapped[int] = mapped_column(BigInteger, default=_function_blocks_of, server_default="0")
    import_fingerprint: Mapped[int | None] = mapped_column(BigInteger, doc=_FINGERPRINT_DOC)


class ProcedureRow(Base):
    """Steps support sent to a customer: imported history, or a post the bot delivered."""

    __tablename__ = "procedures"
    # Also the index for "procedures of a customer": customer_id leads.
    __table_args__ = (UniqueConstraint("customer_id", "sent_at", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime]
    # '' when unknown, so the unique key also holds for procedures without a ticket.
    ticket_id: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str | None] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(String(64))


Index("ix_procedures_ticket_id", ProcedureRow.ticket_id)


class LookupRow(Base):
    """Audit: who looked up which customer, when, from where."""

    __tablename__ = "lookups"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    looked_up_at: Mapped[datetime] = mapped_column(index=True)  # retention deletes by age
    source: Mapped[str] = mapped_column(String(16))
