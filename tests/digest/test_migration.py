"""Migration 0004 (digests) and the function-block mask: filled for existing rows, kept in step by every writer, and the
digest's query planned on its partial index."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, select, text

from models import Database
from models.customers import AuthorizationRow
from models.db import MIGRATIONS
from models.digest.queries import stuck_customers
from models.digest.runs import DigestRow
from models.function_blocks import function_block_mask, required_mask
from models.imports import import_file
from tests.digest.conftest import NOW, Customers
from tests.summaries import assert_in_step

SCOPES = ["FB=1_3_4_5_13_14;IntervalDuration=900", "fb = 1_ 3_4_5 ;", "FB=1_3;FB=4_5", "FB=13_4_5", "ns0:FB=1_3_4_5",
          "FB=1_3_4_5_99", "", None, "FB=1_3_4_²5"]
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/blank.db"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails) the same way as every PostgreSQL test
    name = f"reauth_migration_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def at_revision(db: Database, revision: str) -> Iterator[Connection]:
    """A connection to `db` migrated only up to `revision`, to write rows as the code of that time did."""
    with db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
        yield connection


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_the_migration_fills_the_mask_of_existing_authorizations(blank_url: str) -> None:
    db = Database(blank_url)
    try:
        with at_revision(db, "0002") as connection:
            connection.execute(text("INSERT INTO customers (id, utility) VALUES ('C-1', 'SCE')"))
            for n, scope in enumerate(SCOPES):
                connection.execute(text(
                    "INSERT INTO authorizations (id, customer_id, status, scope) VALUES (:id, 'C-1', 'active', :s)"
                ), {"id": f"A-{n}", "s": scope})

        db.upgrade()

        with db.sessions() as session:
            masks = dict(session.execute(select(AuthorizationRow.scope, AuthorizationRow.function_blocks)).all())
        assert masks == {scope: function_block_mask(scope) for scope in SCOPES}
        assert masks["fb = 1_ 3_4_5 ;"] == masks["FB=1_3;FB=4_5"] == required_mask({1, 3, 4, 5})
    finally:
        db.dispose()


def test_every_writer_keeps_the_mask_in_step_with_the_scope(db: Database, tmp_path: Path) -> None:
    Customers(db).add("C-1")
    header = "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"
    first = tmp_path / "authorizations.csv"
    first.write_text(header + "A-1,C-1,active,2026-11-01T00:00:00Z,FB=1_3,,\n")
    import_file(db, first)
    first.write_text(header + "A-1,C-1,active,2026-11-01T00:00:00Z,FB=1_3_4_5,,\n")  # re-imported, scope fixed
    import_file(db, first)
    with db.transaction() as session:  # the ORM, as other features write
        session.add(AuthorizationRow(id="A-2", customer_id="C-1", status="pending", scope="FB=4_5",
                                     granted_at=datetime(2026, 11, 2, tzinfo=UTC)))

    with db.sessions() as session:
        masks = dict(session.execute(select(AuthorizationRow.id, AuthorizationRow.function_blocks)).all())
    assert masks == {"A-1": required_mask({1, 3, 4, 5}), "A-2": required_mask({4, 5})}


def test_sqlite_plans_the_digest_as_one_scan_of_customers(sqlite_db: Database) -> None:
    Customers(sqlite_db).stuck("C-1")
    statement = stuck_customers(NOW)
    with sqlite_db.engine.connect() as connection:
        compiled = statement.compile(connection)
        plan = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled.string}", tuple(compiled.params[k] for k in compiled.positiontup or [])
        ).all()
    steps = {row[0]: (row[1], str(row[-1])) for row in plan}
    top_level = [detail for parent, detail in steps.values() if parent == 0]
    # Customers scanned once, no join: authorizations and procedures are read only inside the correlated
    # subqueries, for the customers whose summary does not answer at that moment.
    assert top_level[0] == "SCAN customers", plan
    assert all(d.startswith("CORRELATED SCALAR SUBQUERY") for d in top_level[1:]), plan
    assert any("COVERING INDEX ix_authorizations_customer_id_status_granted_at" in d for _, d in steps.values()), plan


def test_the_migration_sums_up_existing_customers(blank_url: str) -> None:
    db = Database(blank_url)
    try:
        with at_revision(db, "0005") as connection:
            connection.execute(text("INSERT INTO customers (id, utility) VALUES ('C-1', 'SCE'), ('C-2', 'SCE')"))
            connection.execute(text(
                "INSERT INTO authorizations (id, customer_id, status, granted_at, authorized_end) VALUES "
                "('A-1', 'C-1', 'active', '2026-11-01 00:00:00', NULL), "
                "('A-2', 'C-1', 'pending', '2026-11-05 00:00:00', '2027-01-01 00:00:00'), "
                "('A-3', 'C-1', 'revoked', '2026-11-09 00:00:00', NULL)"
            ))
            connection.execute(text(
                "INSERT INTO procedures (customer_id, sent_at, ticket_id) VALUES "
                "('C-1', '2026-10-01 00:00:00', 'T-1'), ('C-1', '2026-10-20 00:00:00', 'T-2')"
            ))

        db.upgrade()

        # No scope is an unknown scope since 0008: every bit (-1), never "lacks every data type".
        assert assert_in_step(db) == {
            "C-1": (2, datetime(2026, 11, 5, tzinfo=UTC), -1, datetime(2027, 1, 1, tzinfo=UTC),
                    datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)),
            "C-2": (0, None, 0, None, None, None),
        }
    finally:
        db.dispose()


def test_going_back_to_0005_and_forward_keeps_every_row(blank_url: str) -> None:
    db = Database(blank_url)
    try:
        db.upgrade()
        Customers(db).add("C-1", authorizations=(("active", NOW, None, None),), procedures=(NOW,))
        with db.engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0005")
        with db.engine.connect() as connection:
            counts = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                      for table in ("customers", "authorizations", "procedures")]
        assert counts == [1, 1, 1]

        db.upgrade()

        assert assert_in_step(db)["C-1"][0] == 1
    finally:
        db.dispose()


def test_the_migration_marks_earlier_digests_as_without_a_snapshot(blank_url: str) -> None:
    db = Database(blank_url)
    try:
        with at_revision(db, "0012") as connection:
            connection.execute(text(
                "INSERT INTO digests (day, channel, state, claimed_at, claimed_by, attempts, counts, total, "
                "replies_posted) VALUES ('2026-11-27', 'C0DIGEST', 'done', '2026-11-27 17:00:00', 'x', 1, "
                "'{\"reasons\": {}}', 0, 0)"
            ))

        db.upgrade()

        with db.sessions() as session:
            assert session.scalars(select(DigestRow.stuck_recorded)).all() == [False]
    finally:
        db.dispose()
