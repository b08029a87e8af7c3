"""Engine and session setup, and migrations: SQLite file by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///var/reauth.db"
MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed numbers, each its own: the PostgreSQL advisory locks that serialise migrations, and bulk writes
# of customers and authorizations (imports, Green Button feeds), across instances.
_MIGRATION_LOCK_KEY = 7_311_992_401
BULK_WRITE_LOCK_KEY = 7_311_992_402
_WRITES = "reauth_writes"  # the execution option that marks a write transaction


class DatabaseError(Exception):
    """The database cannot be used; the message says what to do."""


class Database:
    """One engine and its session factory. Build one per process; sessions are per unit of work."""

    def __init__(self, url: str = DEFAULT_DATABASE_URL, **engine_options: Any) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise DatabaseError(f"DATABASE_URL is not a database URL: {exc}") from None
        if parsed.drivername == "postgresql" or parsed.drivername == "postgres":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a database error's text would otherwise carry the bound values (a customer's
        # e-mail) into the log line that reports it.
        options: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite, "hide_parameters": True, **engine_options}
        self.engine: Engine = create_engine(parsed, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        # Reads: on SQLite a deferred BEGIN, a WAL snapshot that never blocks a writer.
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(**{_WRITES: True}), expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session for work that writes: commits on success, rolls back on any error.

        On SQLite it takes the write lock up front (BEGIN IMMEDIATE), so two instances claiming the same
        row wait for each other instead of failing when a read turns into a write.
        """
        with self._writes.begin() as session:
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: one consistent snapshot, and other instances keep writing meanwhile."""
        with self.sessions() as session:
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def health(self) -> dict[str, bool]:
        """What `/healthz` reports, one entry per check: the database answers, accepts a write (a
        read-only replica or a full disk fails every lookup, since each writes its audit row), and its
        schema is the code's. A check after a failed one is reported failed too."""
        checks = {"answers": self.ping(), "accepts_writes": False, "schema_current": False}
        if not checks["answers"]:
            return checks
        try:
            with self._writes() as session:
                try:
                    # A write that changes nothing, rolled back: the permission a lookup's audit row needs.
                    session.execute(text("UPDATE alembic_version SET version_num = version_num"))
                finally:
                    session.rollback()
            checks["accepts_writes"] = True
        except SQLAlchemyError:
            pass
        with contextlib.suppress(SQLAlchemyError):
            checks["schema_current"] = self.is_current()
        return checks

    # --- migrations -------------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Migrate to the newest schema; safe when several instances start at once."""
        with self._migration_lock(), self.engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")

    def is_current(self) -> bool:
        heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
        with self.engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads

    def ensure_schema(self, *, migrate: bool) -> None:
        """Migrate (the SQLite default) or refuse to run on an old schema (a shared PostgreSQL)."""
        try:
            if self.is_current():
                return
            if not migrate:
                raise DatabaseError("the database schema is not up to date: run `reauth-bot db upgrade` first")
            self.upgrade()
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot reach the database ({exc.__class__.__name__}): check DATABASE_URL") from None

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.is_sqlite:
            database = self.url.database
            if not database or database == ":memory:":
                yield
                return
            with open(f"{database}.migrate.lock", "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield
            return
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event own transactions (pysqlite's own BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # busy_timeout first: switching to WAL needs a moment of exclusive access, and an instance
        # starting alongside another must wait for it rather than fail with "database is locked".
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        writes = connection.get_execution_options().get(_WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
