"""Shared fixtures: a clean environment, and the database on SQLite and on a throwaway PostgreSQL.

PostgreSQL runs at 127.0.0.1:5432 (user postgres, trust auth) on developer and CI machines. Each run
(each xdist worker) creates its own database and drops it at the end. With REQUIRE_POSTGRES=1 a missing
server fails the run instead of skipping the PostgreSQL half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from bot.demo.stage import DEMO_NOW
from bot.standins.slack_api import SlackStandIn
from models import Database
from tests.clock import Clock

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_CLEARED = ("SLACK_", "DATABASE_URL", "HELPDESK", "DIGEST_", "ESCALATION_", "TEMPLATES_DIR", "PORT", "ALLOWED_",
            "ALLOW_ALL_USERS", "AUDIT_RETENTION_DAYS", "GREENBUTTON_", "SYNC_INTERVAL", "OUTCOMES_", "HISTORY_")
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer .env value or proxy may leak into a test (slack_sdk ignores NO_PROXY)."""
    for name in list(os.environ):
        if name.startswith(_CLEARED) or name in _PROXIES:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """The URL of a PostgreSQL database that exists for this test run only."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} (set REQUIRE_POSTGRES=1 to fail instead)")
    name = f"reauth_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The xdist worker name ("gw0", ...), or "main" without xdist."""
    workerinput = getattr(request.config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    database.upgrade()
    yield database
    database.dispose()


def _truncate_all(database: Database) -> None:
    with database.engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )).scalars().all()
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated, empty database: a fresh SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('db')}/reauth.db")
        database.upgrade()
        yield database
        database.dispose()
        return
    database = request.getfixturevalue("postgres_database")
    _truncate_all(database)
    yield database
    _truncate_all(database)


@pytest.fixture
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated, empty SQLite file, for tests about the SQLite-only paths and the Slack edge."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('db')}/reauth.db")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def postgres_db(postgres_database: Database) -> Iterator[Database]:
    """The run's PostgreSQL database, emptied, for tests about PostgreSQL-only behaviour."""
    _truncate_all(postgres_database)
    yield postgres_database
    _truncate_all(postgres_database)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A local stand-in of the Slack Web API, checking each call against Slack's contract."""
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    """The demo's moment, Monday 2026-11-30 09:00 in California, moved only by the test."""
    return Clock(DEMO_NOW)
