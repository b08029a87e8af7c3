"""History: what imports and syncs revealed, as transition rows (ids only), and its retention.

`record_transitions` compares the authorizations and customers as they are now with the state last
observed (its own tables), inside the caller's transaction, set-based: whoever writes those rows (the
CSV import, a Green Button sync, a hand-run statement) calls it once before committing, and history is
written in the same transaction as the change that reveals it. Nothing changed, nothing written.

The first call only takes the baseline: history starts then, and nothing before it is invented.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    CursorResult,
    Index,
    Integer,
    String,
    and_,
    case,
    delete,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from commands.policy import DATA_FRESHNESS
from models.base import Base, UTCDateTime
from models.claims import insert_if_absent
from models.customers import AuthorizationRow, CustomerRow

# How many old transitions one pruning statement deletes: short write locks on a shared database.
_PRUNE_BATCH = 10_000


class TransitionKind(StrEnum):
    GRANTED = "granted"  # a new authorization appeared; `at` is its grant time
    REVOKED = "revoked"  # an authorization became revoked; `at` is its revocation time when known
    CONNECTED = "connected"  # verified and meter data flowing again; `at` is the newest data seen
    DISCONNECTED = "disconnected"  # no longer connected; `at` is when that was observed


class HistoryStartRow(Base):
    __tablename__ = "history_start"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]


class ObservedAuthorizationRow(Base):
    __tablename__ = "observed_authorizations"

    authorization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))


class ObservedConnectionRow(Base):
    __tablename__ = "observed_connections"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connected: Mapped[bool] = mapped_column(Boolean)


class TransitionRow(Base):
    __tablename__ = "transitions"
    __table_args__ = (
        CheckConstraint("kind IN ('granted', 'revoked', 'connected', 'disconnected')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    authorization_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    observed_at: Mapped[datetime]


# The outcome of a procedure seeks its customer's first grant or connection after the steps.
Index("ix_transitions_customer_id_kind_at", TransitionRow.customer_id, TransitionRow.kind, TransitionRow.at)
Index("ix_transitions_at", TransitionRow.at)


def history_started_at(session: Session) -> datetime | None:
    """When history began (the first observation), or None before any."""
    return session.scalar(select(HistoryStartRow.started_at).where(HistoryStartRow.id == 1))


def record_transitions(session: Session, now: datetime) -> int:
    """Write the transitions since the last observation and observe the current state; returns how many.

    Call once at the end of the transaction that changed authorizations or customers.
    """
    baseline = insert_if_absent(session, HistoryStartRow.__table__, {"id": 1, "started_at": now}, ["id"])
    written = 0
    if not baseline:
        written += _authorization_transitions(session, now)
        written += _connection_transitions(session, now)
    _observe(session, now)
    return written


def _when(now: datetime) -> Any:
    return literal(now, UTCDateTime())


def _connected_now(now: datetime) -> Any:
    return and_(
        CustomerRow.enrollment_status == "verified",
        CustomerRow.last_data_at.is_not(None),
        CustomerRow.last_data_at >= literal(now - DATA_FRESHNESS, UTCDateTime()),
    )


def _insert_transitions(session: Session, query: Any) -> int:
    columns = ["customer_id", "authorization_id", "kind", "at", "observed_at"]
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... SELECT through the ORM session.
    statement = insert(TransitionRow).from_select(columns, query).returning(TransitionRow.id)
    return len(session.execute(statement).all())


def _authorization_transitions(session: Session, now: datetime) -> int:
    authorization, observed = AuthorizationRow, ObservedAuthorizationRow
    joined = authorization.__table__.outerjoin(
        observed.__table__, observed.authorization_id == authorization.id
    )
    granted = (
        select(authorization.customer_id, authorization.id, literal(TransitionKind.GRANTED.value),
               _coalesce_time(authorization.granted_at, now), _when(now))
        .select_from(joined)
        .where(observed.authorization_id.is_(None))
    )
    revoked = (
        select(authorization.customer_id, authorization.id, literal(TransitionKind.REVOKED.value),
               _coalesce_time(authorization.revoked_at, now), _when(now))
        .select_from(joined)
        .where(authorization.status == "revoked",
               or_(observed.authorization_id.is_(None), observed.status != "revoked"))
    )
    return _insert_transitions(session, granted) + _insert_transitions(session, revoked)


def _coalesce_time(column: Any, now: datetime) -> Any:
    return case((column.is_(None), _when(now)), else_=column)


def _connection_transitions(session: Session, now: datetime) -> int:
    customer, observed = CustomerRow, ObservedConnectionRow
    joined = customer.__table__.outerjoin(observed.__table__, observed.customer_id == customer.id)
    connected = _connected_now(now)
    # The newest data seen is the best-known moment data flowed again (never later than now).
    data_since = case((customer.last_data_at <= _when(now), customer.last_data_at), else_=_when(now))
    became_connected = (
        select(customer.id, literal(None, String(64)), literal(TransitionKind.CONNECTED.value), data_since,
               _when(now))
        .select_from(joined)
        .where(connected, or_(observed.customer_id.is_(None), observed.connected.is_(False)))
    )
    became_disconnected = (
        select(customer.id, literal(None, String(64)), literal(TransitionKind.DISCONNECTED.value), _when(now),
               _when(now))
        .select_from(joined)
        .where(~connected, observed.connected.is_(True))
    )
    return _insert_transitions(session, became_connected) + _insert_transitions(session, became_disconnected)


def _upsert_from_select(session: Session, table: Any, columns: list[str], query: Any, key: str,
                        updated: str) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).from_select(columns, query)
    statement = statement.on_conflict_do_update(index_elements=[key], set_={updated: statement.excluded[updated]})
    session.execute(statement)


def _observe(session: Session, now: datetime) -> None:
    """Remember the current state, writing only the rows that differ (the query always has a WHERE:
    SQLite needs one to read INSERT ... SELECT ... ON CONFLICT)."""
    authorization, observed = AuthorizationRow, ObservedAuthorizationRow
    changed_authorizations = (
        select(authorization.id, authorization.status)
        .select_from(authorization.__table__.outerjoin(
            observed.__table__, observed.authorization_id == authorization.id))
        .where(or_(observed.authorization_id.is_(None), observed.status != authorization.status))
    )
    _upsert_from_select(session, observed.__table__, ["authorization_id", "status"], changed_authorizations,
                        "authorization_id", "status")
    customer, seen = CustomerRow, ObservedConnectionRow
    connected = case((_connected_now(now), True), else_=False)
    changed_connections = (
        select(customer.id, connected)
        .select_from(customer.__table__.outerjoin(seen.__table__, seen.customer_id == customer.id))
        .where(or_(seen.customer_id.is_(None), seen.connected != connected))
    )
    _upsert_from_select(session, seen.__table__, ["customer_id", "connected"], changed_connections,
                        "customer_id", "connected")


def prune_history(session: Session, now: datetime, retention: timedelta) -> int:
    """Delete the transitions older than `retention`, a batch per statement; returns how many went."""
    cutoff = now - retention
    oldest = select(TransitionRow.id).where(TransitionRow.at < cutoff).limit(_PRUNE_BATCH)
    result = session.execute(delete(TransitionRow).where(TransitionRow.id.in_(oldest)))
    return max(cast(CursorResult[Any], result).rowcount, 0)
