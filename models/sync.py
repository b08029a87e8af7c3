"""The Green Button sync's tables: the company's subscription-to-customer mapping, where each synced
authorization came from, and the per-utility lease that lets one instance at a time sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ForeignKey, String, Text, and_, literal_column, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from commands.imports import ErrorLog, ImportFailed, ImportKind
from commands.rules import LIVE_STATUSES, AuthorizationStatus
from commands.sync import Mapped as MappedFeed
from models.base import Base
from models.customers import AuthorizationRow
from models.history import record_transitions
from models.imports import ImportBatch


class SubscriptionRow(Base):
    """A Green Button subscription (or retail customer) URI the company knows as one of its customers."""

    __tablename__ = "greenbutton_subscriptions"

    resource_uri: Mapped[str] = mapped_column(String(1000), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)


class SyncedAuthorizationRow(Base):
    """An authorization read from a data custodian: which one, so that a complete feed without it revokes it."""

    __tablename__ = "greenbutton_authorizations"

    authorization_id: Mapped[str] = mapped_column(
        ForeignKey("authorizations.id", ondelete="CASCADE"), primary_key=True
    )
    utility: Mapped[str] = mapped_column(String(8), index=True)
    authorization_uri: Mapped[str] = mapped_column(Text)


class SyncRunRow(Base):
    """One row per utility: who holds the sync until when, and how the last run went."""

    __tablename__ = "sync_runs"

    utility: Mapped[str] = mapped_column(String(8), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(200))


# --- queries and writes ---------------------------------------------------------------------------------


def subscription_customers(session: Session) -> dict[str, str]:
    """The company's mapping, subscription or retail customer URI -> customer id."""
    rows = session.execute(select(SubscriptionRow.resource_uri, SubscriptionRow.customer_id))
    return {row.resource_uri: row.customer_id for row in rows}


def claim_run(session: Session, utility: str, holder: str, now: datetime, *, lease: timedelta,
              due_before: datetime | None) -> bool:
    """Take the utility's sync for `lease`, unless another instance holds it, or (with `due_before`) one
    started after `due_before`. One statement, so two instances racing get one True between them."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    runs = SyncRunRow
    statement = insert(runs).values(utility=utility, holder=holder, lease_until=now + lease, started_at=now)
    free = runs.lease_until <= now
    if due_before is not None:
        free = and_(free, runs.started_at <= due_before)
    claim = statement.on_conflict_do_update(
        index_elements=["utility"],
        set_={"holder": holder, "lease_until": now + lease, "started_at": now, "finished_at": None, "outcome": None},
        where=free,
    ).returning(runs.utility)
    return session.execute(claim).first() is not None


def finish_run(session: Session, utility: str, holder: str, now: datetime, outcome: str) -> None:
    """Give the lease back and say how the run went."""
    session.execute(
        update(SyncRunRow).where(SyncRunRow.utility == utility, SyncRunRow.holder == holder)
        .values(lease_until=now, finished_at=now, outcome=outcome[:200])
    )


@dataclass(frozen=True)
class Applied:
    new: int
    changed: int
    revoked: int


def apply_feed(session: Session, utility: str, mapped: MappedFeed, now: datetime) -> Applied:
    """Write one custodian's complete feed in the caller's transaction: upsert its authorizations (the
    import's set-based path) and revoke the ones this custodian gave before and no longer lists."""
    batch = ImportBatch(session, now)
    errors = ErrorLog()
    # No fingerprints: these rows come from a feed, and a later CSV import must read them again.
    batch.load(ImportKind.AUTHORIZATIONS, f"{utility} feed", ((row, None) for row in mapped.rows), errors)
    batch.check(errors)
    if errors:
        raise ImportFailed.of(errors)
    # Vanished from a complete feed: revoked at the custodian. The same ids go to the history first.
    vanished = (
        AuthorizationRow.id.in_(select(SyncedAuthorizationRow.authorization_id)
                                .where(SyncedAuthorizationRow.utility == utility)),
        AuthorizationRow.id.not_in(select(literal_column("id")).select_from(text(batch.staging_table(
            ImportKind.AUTHORIZATIONS)))),
        AuthorizationRow.status.in_([s.value for s in LIVE_STATUSES]),
    )
    batch.touched.add_authorizations(select(AuthorizationRow.id).where(*vanished))
    revoked = cast(CursorResult[Any], session.execute(
        update(AuthorizationRow)
        .where(*vanished)
        # The fingerprint goes: the row no longer is what a CSV import last wrote, so the next one reads it again.
        .values(status=AuthorizationStatus.REVOKED.value, revoked_at=now, import_fingerprint=None)
        .execution_options(synchronize_session=False)
    )).rowcount
    changes = batch.apply()
    if mapped.uris:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        sources = [{"authorization_id": i, "utility": utility, "authorization_uri": u} for i, u in mapped.uris.items()]
        for start in range(0, len(sources), 1000):
            statement = insert(SyncedAuthorizationRow).values(sources[start:start + 1000])
            session.execute(statement.on_conflict_do_update(
                index_elements=["authorization_id"],
                set_={"utility": statement.excluded.utility, "authorization_uri": statement.excluded.authorization_uri},
            ))
    record_transitions(session, now, batch.touched)  # the history of what this sync changed, in its transaction
    kind = ImportKind.AUTHORIZATIONS
    return Applied(changes.new.get(kind, 0), changes.changed.get(kind, 0), int(revoked or 0))
