"""The database layer: SQLite pragmas, migrations that match the models, concurrent migration."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from models import Database, DatabaseError
from models.base import Base


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with pytest.raises(IntegrityError), sqlite_db.transaction() as session:
        session.execute(text(
            "INSERT INTO authorizations (id, customer_id, status) VALUES ('A-x', 'no-such-customer', 'active')"
        ))


def test_the_migrations_build_exactly_the_models_schema(db: Database) -> None:
    """A hand-written migration that drifts from its model (a column, an index, a constraint) fails here."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_is_current_after_upgrade_and_not_before(tmp_path: Path) -> None:
    fresh = Database(f"sqlite:///{tmp_path}/fresh.db")
    assert not fresh.is_current()
    fresh.ensure_schema(migrate=True)
    assert fresh.is_current()
    fresh.dispose()


def test_an_old_schema_is_refused_when_not_migrating(tmp_path: Path) -> None:
    fresh = Database(f"sqlite:///{tmp_path}/old.db")
    with pytest.raises(DatabaseError, match="reauth-bot db upgrade"):
        fresh.ensure_schema(migrate=False)
    fresh.dispose()


def test_a_bad_database_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="DATABASE_URL is not a database URL"):
        Database("not a url")


def test_instances_starting_together_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    errors: list[BaseException] = []

    def start() -> None:
        instance = Database(url)
        try:
            instance.ensure_schema(migrate=True)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            instance.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Database(url).is_current()


def test_a_long_read_does_not_hold_up_writers_on_sqlite(sqlite_db: Database) -> None:
    """The digest reads for seconds at a million customers; claims and posts must go on meanwhile."""
    with sqlite_db.reading() as reader:
        assert reader.execute(text("SELECT count(*) FROM customers")).scalar() == 0  # the snapshot starts
        written = threading.Event()

        def write() -> None:
            with sqlite_db.transaction() as session:
                session.execute(text("INSERT INTO customers (id, utility) VALUES ('C-new', 'SCE')"))
            written.set()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=10)
        assert written.is_set()  # committed while the read was still open
        assert reader.execute(text("SELECT count(*) FROM customers")).scalar() == 0  # the reader's snapshot
    with sqlite_db.reading() as later:
        assert later.execute(text("SELECT count(*) FROM customers")).scalar() == 1
