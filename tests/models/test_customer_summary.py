"""The summary on each customer's row (migration 0006) follows every write to authorizations and procedures,
whoever writes: the importer, the ORM, bulk statements, hand-run SQL; on SQLite and PostgreSQL, and when two
PostgreSQL transactions write for the same customer at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, insert, text, update

from models import Database
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.function_blocks import function_block_mask
from models.imports import import_file
from tests.summaries import assert_in_step

T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
AUTHORIZATIONS_HEADER = "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"


def add_customers(db: Database, *ids: str) -> None:
    with db.transaction() as session:
        session.execute(insert(CustomerRow), [{"id": cid, "utility": "SCE"} for cid in ids])


def authorization(aid: str, customer: str, status: str = "active", granted: datetime | None = T0,
                  scope: str = "FB=1_3_4_5", end: datetime | None = None) -> dict[str, Any]:
    return {"id": aid, "customer_id": customer, "status": status, "granted_at": granted, "scope": scope,
            "authorized_end": end, "revoked_at": None, "function_blocks": function_block_mask(scope)}


def test_every_kind_of_write_to_authorizations_keeps_the_summary(db: Database) -> None:
    add_customers(db, "C-1", "C-2", "C-3")
    assert assert_in_step(db)["C-1"] == (0, None, 0, None, None, None)

    with db.transaction() as session:  # one statement, several rows and customers
        session.execute(insert(AuthorizationRow), [
            authorization("A-1", "C-1"),
            authorization("A-2", "C-1", "pending", T0 + DAY, "FB=1_3", end=T0 + 90 * DAY),
            authorization("A-3", "C-1", "revoked", T0 + 2 * DAY),
            authorization("A-4", "C-2", granted=None),
        ])
    found = assert_in_step(db)
    assert found["C-1"][:4] == (2, T0 + DAY, function_block_mask("FB=1_3_4_5"), T0 + 90 * DAY)
    assert found["C-2"][:2] == (1, None)

    with db.transaction() as session:  # the ORM, as other features write
        session.add(AuthorizationRow(id="A-5", customer_id="C-3", status="active", granted_at=T0 - DAY,
                                     scope="FB=4_5"))
    with db.transaction() as session:
        session.execute(update(AuthorizationRow).where(AuthorizationRow.id == "A-1").values(status="revoked"))
    with db.transaction() as session:  # moved to another customer: both summaries change
        session.execute(update(AuthorizationRow).where(AuthorizationRow.id == "A-2").values(customer_id="C-3"))
    found = assert_in_step(db)
    assert found["C-1"][0] == 0 and found["C-3"][:2] == (2, T0 + DAY)

    with db.transaction() as session:  # a change the summary is not made of leaves it as it was
        session.execute(update(AuthorizationRow).where(AuthorizationRow.id == "A-5").values(revoked_at=T0))
    with db.transaction() as session:
        session.execute(delete(AuthorizationRow).where(AuthorizationRow.customer_id == "C-3"))
    with db.engine.begin() as connection:  # hand-run SQL
        connection.execute(text("UPDATE authorizations SET status = 'active' WHERE id = 'A-3'"))
    found = assert_in_step(db)
    assert found["C-3"][0] == 0 and found["C-1"][:2] == (1, T0 + 2 * DAY)


def test_the_importer_keeps_the_summary(db: Database, tmp_path: Path) -> None:
    add_customers(db, "C-1")
    path = tmp_path / "authorizations.csv"
    path.write_text(AUTHORIZATIONS_HEADER + "A-1,C-1,active,2026-11-01T00:00:00Z,FB=1_3,,\n"
                    "A-2,C-1,pending,2026-11-03T00:00:00Z,FB=1_3_4_5,2027-11-03T00:00:00Z,\n")
    import_file(db, path)
    assert assert_in_step(db)["C-1"][0] == 2
    # Re-imported: the utility revoked the older one (an upsert, so an UPDATE of the existing row).
    path.write_text(AUTHORIZATIONS_HEADER + "A-1,C-1,revoked,2026-11-01T00:00:00Z,FB=1_3,,2026-11-03T00:00:00Z\n")
    import_file(db, path)
    found = assert_in_step(db)
    assert found["C-1"][:2] == (1, datetime(2026, 11, 3, tzinfo=UTC))


def test_every_write_to_procedures_keeps_the_summary(db: Database) -> None:
    add_customers(db, "C-1", "C-2")
    with db.transaction() as session:
        session.execute(insert(ProcedureRow), [
            {"customer_id": "C-1", "sent_at": T0 + n * DAY, "ticket_id": f"T-{n}", "agent": "U0A"} for n in range(3)
        ])
    assert assert_in_step(db)["C-1"][4:] == (T0, T0 + 2 * DAY)
    with db.transaction() as session:
        session.execute(update(ProcedureRow).where(ProcedureRow.ticket_id == "T-0").values(customer_id="C-2"))
        session.execute(delete(ProcedureRow).where(ProcedureRow.ticket_id == "T-2"))
    found = assert_in_step(db)
    assert found["C-1"][4:] == (T0 + DAY, T0 + DAY) and found["C-2"][4:] == (T0, T0)


def test_deleting_a_customer_takes_its_rows_and_nothing_fails(db: Database) -> None:
    add_customers(db, "C-1", "C-2")
    with db.transaction() as session:
        session.execute(insert(AuthorizationRow), [authorization("A-1", "C-1"), authorization("A-2", "C-2")])
        session.execute(insert(ProcedureRow), [{"customer_id": "C-1", "sent_at": T0, "ticket_id": "T-1"}])
    with db.transaction() as session:
        session.execute(delete(CustomerRow).where(CustomerRow.id == "C-1"))
    assert set(assert_in_step(db)) == {"C-2"}


@pytest.mark.postgres
def test_two_postgresql_writers_for_one_customer_leave_the_summary_whole(postgres_db: Database) -> None:
    """Each transaction adds an authorization for the same customer; the second one's trigger waits for the
    first to commit and then counts both. Without the lock it would count only its own."""
    db = postgres_db
    add_customers(db, "C-RACE")
    url = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    first_inserted = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_inserted.wait(10)
            with psycopg.connect(url) as connection:  # blocks in the trigger until the first commits
                connection.execute("INSERT INTO authorizations (id, customer_id, status, granted_at) "
                                   "VALUES ('A-2', 'C-RACE', 'active', now())")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with psycopg.connect(url) as connection:
        connection.execute("INSERT INTO authorizations (id, customer_id, status, granted_at) "
                           "VALUES ('A-1', 'C-RACE', 'active', now())")
        first_inserted.set()
        thread.join(0.5)
        assert thread.is_alive(), "the second writer should wait for the first one's lock"
    thread.join(10)
    assert not errors and not thread.is_alive()
    assert assert_in_step(db)["C-RACE"][0] == 2


@pytest.mark.postgres
def test_truncating_a_summed_table_on_postgresql_empties_the_summaries(postgres_db: Database) -> None:
    db = postgres_db
    add_customers(db, "C-1")
    with db.transaction() as session:
        session.execute(insert(AuthorizationRow), [authorization("A-1", "C-1")])
        session.execute(insert(ProcedureRow), [{"customer_id": "C-1", "sent_at": T0, "ticket_id": "T-1"}])
    with db.engine.begin() as connection:
        # CASCADE: the sync's greenbutton_authorizations (migration 0008) refers to authorizations.
        connection.execute(text("TRUNCATE authorizations, procedures CASCADE"))
    assert assert_in_step(db)["C-1"] == (0, None, 0, None, None, None)
