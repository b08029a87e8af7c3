"""`/healthz` tells the truth: the database answers, accepts a write, and its schema is the code's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from bot.demo.harness import LocalBot
from models import Database
from models.db import _alembic_config

ALL_OK = {"answers": True, "accepts_writes": True, "schema_current": True}


def _read_only(db: Database, tmp_path: Path) -> Database:
    """The same database opened as a read-only replica or a read-only file would be."""
    if db.is_sqlite:
        return Database(f"sqlite:///file:{db.url.database}?mode=ro&uri=true")
    return Database(db.url.render_as_string(hide_password=False),
                    connect_args={"options": "-c default_transaction_read_only=on"})


@pytest.fixture
def read_only(db: Database, tmp_path: Path) -> Iterator[Database]:
    replica = _read_only(db, tmp_path)
    yield replica
    replica.dispose()


def test_a_healthy_database_passes_every_check(db: Database) -> None:
    assert db.health() == ALL_OK


def test_a_read_only_database_fails_the_write_check(db: Database, read_only: Database) -> None:
    assert read_only.health() == {"answers": True, "accepts_writes": False, "schema_current": True}


def test_an_old_schema_fails_the_schema_check(tmp_path: Path) -> None:
    old = Database(f"sqlite:///{tmp_path}/old.db")
    with old.engine.begin() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    assert old.health() == {"answers": True, "accepts_writes": True, "schema_current": False}
    old.dispose()


def test_an_old_schema_on_postgresql_fails_the_schema_check(postgres_db: Database) -> None:
    with postgres_db.engine.begin() as connection:
        head = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0006'")
    try:
        assert postgres_db.health() == {"answers": True, "accepts_writes": True, "schema_current": False}
    finally:  # the stamp back: the run's other tests share this database
        with postgres_db.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = %(head)s", {"head": head})


def test_a_database_gone_fails_every_check() -> None:
    gone = Database("postgresql://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 1})
    assert gone.health() == {"answers": False, "accepts_writes": False, "schema_current": False}


def test_healthz_is_503_naming_the_failed_check(db: Database, read_only: Database) -> None:
    with LocalBot(read_only) as running:
        response = running.http.get(f"http://127.0.0.1:{running.port}/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "database": "up", "failed": ["accepts_writes"],
                               "checks": {"answers": "ok", "accepts_writes": "failed", "schema_current": "ok"}}
