"""History: what imports and syncs revealed, as transition rows (ids only), and its retention.

`record_transitions` compares the authorizations and customers as they are now with the state last
observed (its own tables, `observed_*`), inside the caller's transaction, set-based: whoever writes those
rows (the CSV import, a Green Button sync, a hand-run statement) calls it once before committing, and
history is written in the same transaction as the change that reveals it. Nothing changed, nothing written.

A writer that knows what it wrote (the import and the sync) passes it as `Touched`, and only those rows
are compared: at a million customers, comparing everything costs seconds on every transaction. The
observed state stays the reference either way: it makes a re-import of the same files (or a hand-run
statement followed by a whole comparison) write nothing twice. One change needs no writer: a connection
lapses when DATA_FRESHNESS passes without new data. The observed data time of each connection is indexed,
so every call (scoped or whole) finds the lapsed ones by a range and records them disconnected then; a
customer whose data resumes after such a gap is recorded disconnected, then connected.

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
    ColumnElement,
    CursorResult,
    Index,
    Integer,
    Select,
    String,
    TableClause,
    and_,
    case,
    column,
    delete,
    insert,
    literal,
    or_,
    select,
    table,
    text,
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
    # The data time the connection rests on (None when not connected): it lapses DATA_FRESHNESS later.
    last_data_at: Mapped[datetime | None]


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
# A connection lapsing with time (no new data) is found by this range, not by comparing every customer.
Index("ix_observed_connections_last_data_at", ObservedConnectionRow.last_data_at)


def history_started_at(session: Session) -> datetime | None:
    """When history began (the first observation), or None before any."""
    return session.scalar(select(HistoryStartRow.started_at).where(HistoryStartRow.id == 1))


class Touched:
    """The customers and authorizations one transaction wrote, kept in temporary tables of that transaction:
    the only rows its `record_transitions` compares. Ids are added as a SELECT (SQL text or a statement)
    over the writer's own tables, never brought into Python."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self._customers = table("history_touched_customers", column("id", String(64)))
        self._authorizations = table("history_touched_authorizations", column("id", String(64)))
        self._created = False
        self.complete = True

    def untracked(self) -> None:
        """The writer did not add what it wrote (it took `record_transitions` for the first observation, which
        compares nothing): should another transaction have observed first after all, compare every row."""
        self.complete = False

    def add_customers(self, ids: str | Select[Any]) -> None:
        self._add(self._customers, ids)

    def add_authorizations(self, ids: str | Select[Any]) -> None:
        self._add(self._authorizations, ids)

    def customers(self) -> Select[Any]:
        self._create()
        return select(self._customers.c.id)

    def authorizations(self) -> Select[Any]:
        self._create()
        return select(self._authorizations.c.id)

    def _add(self, touched: TableClause, ids: str | Select[Any]) -> None:
        self._create()
        query = text(ids).columns(column("id", String(64))) if isinstance(ids, str) else ids
        insert = postgresql.insert if self.postgresql else sqlite.insert
        # The subquery and `WHERE true`: SQLite's parser needs them to tell an upsert's ON CONFLICT from
        # a join's ON.
        added = query.subquery("added")
        statement = insert(touched).from_select(["id"], select(*added.c).where(literal(True)))
        self.session.execute(statement.on_conflict_do_nothing(index_elements=["id"]))

    def _create(self) -> None:
        if self._created:
            return
        # ON COMMIT DROP on PostgreSQL; SQLite has none, so `close` drops them (a rollback undoes them anyway).
        suffix = " ON COMMIT DROP" if self.postgresql else ""
        for touched in (self._customers, self._authorizations):
            self.session.execute(text(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {touched.name} (id VARCHAR(64) PRIMARY KEY){suffix}"))
        self._created = True

    def analyze(self) -> None:
        """Give PostgreSQL's planner the tables' real sizes: a temporary table has no statistics, and a
        planner guessing thousands of rows for an empty one may hash-join a million customers."""
        if self._created and self.postgresql:
            for touched in (self._customers, self._authorizations):
                self.session.execute(text(f"ANALYZE {touched.name}"))

    def close(self) -> None:
        if self._created and not self.postgresql:
            for touched in (self._customers, self._authorizations):
                self.session.execute(text(f"DROP TABLE temp.{touched.name}"))
        self._created = False


def record_transitions(session: Session, now: datetime, touched: Touched | None = None) -> int:
    """Write the transitions since the last observation and observe the current state; returns how many.

    Call once at the end of the transaction that changed authorizations or customers; with `touched`, only
    those rows (and the connections that lapsed with time) are compared, else every row.
    """
    baseline = insert_if_absent(session, HistoryStartRow.__table__, {"id": 1, "started_at": now}, ["id"])
    scope = None if baseline or (touched is not None and not touched.complete) else touched
    if scope is not None:
        # A connection lapsing with time is a change no writer makes: found by the observed data time.
        scope.add_customers(select(ObservedConnectionRow.customer_id)
                            .where(ObservedConnectionRow.last_data_at < _fresh_since(now)))
        scope.analyze()
    customers = None if scope is None else CustomerRow.id.in_(scope.customers())
    authorizations = None if scope is None else AuthorizationRow.id.in_(scope.authorizations())
    written = 0
    if not baseline:
        written += _authorization_transitions(session, now, authorizations)
        written += _connection_transitions(session, now, customers)
    _observe(session, now, customers, authorizations, first=baseline)
    if touched is not None:
        touched.close()
    return written


def _fresh_since(now: datetime) -> Any:
    return literal(now - DATA_FRESHNESS, UTCDateTime())


def _when(now: datetime) -> Any:
    return literal(now, UTCDateTime())


def _connected_now(now: datetime) -> Any:
    return and_(
        CustomerRow.enrollment_status == "verified",
        CustomerRow.last_data_at.is_not(None),
        CustomerRow.last_data_at >= _fresh_since(now),
    )


def _still_connected(now: datetime) -> Any:
    """Observed connected, and its data not yet too old: a lapse seen now was a disconnection."""
    observed = ObservedConnectionRow
    return and_(observed.connected.is_(True),
                or_(observed.last_data_at.is_(None), observed.last_data_at >= _fresh_since(now)))


def _scoped(query: Any, scope: ColumnElement[bool] | None) -> Any:
    return query if scope is None else query.where(scope)


def _insert_transitions(session: Session, query: Any) -> int:
    columns = ["customer_id", "authorization_id", "kind", "at", "observed_at"]
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... SELECT through the ORM session.
    statement = insert(TransitionRow).from_select(columns, query).returning(TransitionRow.id)
    return len(session.execute(statement).all())


def _authorization_transitions(session: Session, now: datetime, scope: ColumnElement[bool] | None) -> int:
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
    return _insert_transitions(session, _scoped(granted, scope)) + _insert_transitions(session, _scoped(revoked, scope))


def _coalesce_time(column: Any, now: datetime) -> Any:
    return case((column.is_(None), _when(now)), else_=column)


def _connection_transitions(session: Session, now: datetime, scope: ColumnElement[bool] | None) -> int:
    customer, observed = CustomerRow, ObservedConnectionRow
    joined = customer.__table__.outerjoin(observed.__table__, observed.customer_id == customer.id)
    connected = _connected_now(now)
    still = _still_connected(now)
    # Observed as the disconnection: when it is seen (a lapse is seen at the first call after it).
    became_disconnected = (
        select(customer.id, literal(None, String(64)), literal(TransitionKind.DISCONNECTED.value), _when(now),
               _when(now))
        .select_from(joined)
        .where(observed.connected.is_(True), or_(~connected, ~still))
    )
    # The newest data seen is the best-known moment data flowed again (never later than now).
    data_since = case((customer.last_data_at <= _when(now), customer.last_data_at), else_=_when(now))
    became_connected = (
        select(customer.id, literal(None, String(64)), literal(TransitionKind.CONNECTED.value), data_since,
               _when(now))
        .select_from(joined)
        .where(connected, or_(observed.customer_id.is_(None), ~still))
    )
    return (_insert_transitions(session, _scoped(became_disconnected, scope))
            + _insert_transitions(session, _scoped(became_connected, scope)))


def _upsert_from_select(session: Session, table: Any, columns: list[str], query: Any, key: str,
                        updated: list[str]) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).from_select(columns, query)
    statement = statement.on_conflict_do_update(
        index_elements=[key], set_={column: statement.excluded[column] for column in updated})
    session.execute(statement)


def _observe(session: Session, now: datetime, customers: ColumnElement[bool] | None,
             authorizations: ColumnElement[bool] | None, *, first: bool = False) -> None:
    """Remember the current state, writing only the rows that differ (the query always has a WHERE:
    SQLite needs one to read INSERT ... SELECT ... ON CONFLICT). The `first` observation, when nothing was
    observed yet, inserts every row as it is: no comparison, no conflict to look for (a million rows)."""
    if first and _nothing_observed(session):
        _observe_all(session, now)
        return
    authorization, observed = AuthorizationRow, ObservedAuthorizationRow
    changed_authorizations = (
        select(authorization.id, authorization.status)
        .select_from(authorization.__table__.outerjoin(
            observed.__table__, observed.authorization_id == authorization.id))
        .where(or_(observed.authorization_id.is_(None), observed.status != authorization.status))
    )
    _upsert_from_select(session, observed.__table__, ["authorization_id", "status"],
                        _scoped(changed_authorizations, authorizations), "authorization_id", ["status"])
    customer, seen = CustomerRow, ObservedConnectionRow
    is_connected = _connected_now(now)
    connected = case((is_connected, True), else_=False)
    # The data time a connection rests on, so that its lapse is found by an index range.
    data_time = case((is_connected, customer.last_data_at), else_=None)
    changed_connections = (
        select(customer.id, connected, data_time)
        .select_from(customer.__table__.outerjoin(seen.__table__, seen.customer_id == customer.id))
        .where(or_(seen.customer_id.is_(None), seen.connected != connected,
                   seen.last_data_at.is_distinct_from(data_time)))
    )
    _upsert_from_select(session, seen.__table__, ["customer_id", "connected", "last_data_at"],
                        _scoped(changed_connections, customers), "customer_id", ["connected", "last_data_at"])


def _nothing_observed(session: Session) -> bool:
    return all(session.execute(select(literal(1)).select_from(observed).limit(1)).first() is None
               for observed in (ObservedAuthorizationRow.__table__, ObservedConnectionRow.__table__))


def _observe_all(session: Session, now: datetime) -> None:
    authorization, customer = AuthorizationRow, CustomerRow
    session.execute(insert(ObservedAuthorizationRow).from_select(
        ["authorization_id", "status"], select(authorization.id, authorization.status)))
    is_connected = _connected_now(now)
    session.execute(insert(ObservedConnectionRow).from_select(
        ["customer_id", "connected", "last_data_at"],
        select(customer.id, case((is_connected, True), else_=False),
               case((is_connected, customer.last_data_at), else_=None))))


def prune_history(session: Session, now: datetime, retention: timedelta) -> int:
    """Delete the transitions older than `retention`, a batch per statement; returns how many went."""
    cutoff = now - retention
    oldest = select(TransitionRow.id).where(TransitionRow.at < cutoff).limit(_PRUNE_BATCH)
    result = session.execute(delete(TransitionRow).where(TransitionRow.id.in_(oldest)))
    return max(cast(CursorResult[Any], result).rowcount, 0)
