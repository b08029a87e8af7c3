"""Rows written the plain way skip the per-field checks (`commands.imports.plain_check`): they must be stored
exactly as the checks would store them, and a plain-looking row the checks refuse must still be refused with
the checks' own message, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from commands.imports import COLUMNS, ImportFailed, ImportKind, parse_csv, plain_check
from models import Database
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.imports import import_files
from tests.summaries import assert_in_step

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CUSTOMERS_HEADER = "customer_id,email,name,utility,enrollment_status,last_data_at\n"
AUTHORIZATIONS_HEADER = "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stored(db: Database) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    c, a = CustomerRow, AuthorizationRow
    with db.sessions() as session:
        customers = {row[0]: tuple(row[1:]) for row in session.execute(select(
            c.id, c.email, c.email_key, c.name, c.utility, c.enrollment_status, c.last_data_at))}
        authorizations = {row[0]: tuple(row[1:]) for row in session.execute(select(
            a.id, a.customer_id, a.status, a.granted_at, a.scope, a.function_blocks, a.authorized_end,
            a.revoked_at))}
    return customers, authorizations


def test_a_plain_row_is_stored_as_the_same_row_written_otherwise(db: Database, tmp_path: Path) -> None:
    # Each pair: the plain form first, then the same values in forms only the full checks read.
    customers = write(tmp_path, "customers.csv", CUSTOMERS_HEADER + (
        "P1,Ann.Lee@Example.com,Ann Lee,SCE,verified,2026-11-19T08:00:00Z\n"
        "F1, Ann.Lee@Example.com ,Ann Lee ,sce,Verified,2026-11-19T00:00:00-08:00\n"
        "P2,,,PGE,,\n"
        "F2,, ,pge, ,\n"
        "P3,x@y.z,Bo,SDGE,pending,2026-11-19T08:00:00\n"
        "F3,x@y.z,Bo,SDGE,pending,2026-11-19 08:00:00.000000+00:00\n"
    ))
    authorizations = write(tmp_path, "authorizations.csv", AUTHORIZATIONS_HEADER + (
        "PA1,P1,active,2026-06-01T00:00:00Z,FB=1_3_4_5 IntervalDuration=900,2027-06-01T00:00:00+00:00,\n"
        "FA1,P1,ACTIVE ,2026-05-31T17:00:00-07:00, FB=1_3_4_5 IntervalDuration=900,2027-06-01T00:00:00.000,\n"
        "PA2,P2,revoked,2024-02-28T23:59:59,,,2026-11-01T10:00:00Z\n"
        "FA2,P2,revoked,2024-02-28T23:59:59.000000Z,  ,,2026-11-01T11:00:00+01:00\n"
    ))
    import_files(db, [customers, authorizations], now=NOW)
    found_customers, found_authorizations = stored(db)
    for plain, other in (("P1", "F1"), ("P2", "F2"), ("P3", "F3")):
        assert found_customers[plain] == found_customers[other], plain
    for plain, other in (("PA1", "FA1"), ("PA2", "FA2")):
        assert found_authorizations[plain] == found_authorizations[other], plain
    assert found_authorizations["PA1"][1:3] == ("active", datetime(2026, 6, 1, tzinfo=UTC))
    assert found_customers["P1"][:2] == ("Ann.Lee@Example.com", "ann.lee@example.com")
    assert_in_step(db)


@pytest.mark.parametrize("rows", [
    # Dates a pattern could take for real ones; February 29 of a leap year is good and read by the checks.
    AUTHORIZATIONS_HEADER + "A1,C1,active,2026-02-30T00:00:00Z,,,\nA2,C1,active,2028-02-29T00:00:00Z,,,\n"
    "A3,C1,active,2026-04-31T00:00:00Z,,,\nA4,C1,active,2026-02-29T00:00:00Z,,,\n",
    AUTHORIZATIONS_HEADER + "A1,C1,active,2026-11-01T24:00:00Z,,,\nA2,C1,lapsed,2026-11-01T00:00:00Z,,,\n",
    CUSTOMERS_HEADER + "C1,,,SCE,verified,2099-01-01T00:00:00Z\nC2,,,SCE,verified,2026-11-21T12:00:01Z\n"
    f"C3,{'a' * 315}@b.cd,,SCE,,\nC4,,{'n' * 201},SCE,,\nC5,a@b,,SCE,,\n",
])
def test_a_plain_looking_row_the_checks_refuse_is_refused_with_their_message(
    db: Database, tmp_path: Path, rows: str
) -> None:
    customers = write(tmp_path, "customers.csv", CUSTOMERS_HEADER + "C1,,,SCE,,\n")
    files = [write(tmp_path, "rows.csv", rows)]
    if rows.startswith("authorization_id"):
        files.insert(0, customers)
    with pytest.raises(ImportFailed) as failed:
        import_files(db, files, now=NOW)
    with pytest.raises(ImportFailed) as parsed:
        parse_csv("rows.csv", rows.splitlines(keepends=True), NOW)
    assert [(e.line, e.message) for e in failed.value.errors] == [(e.line, e.message) for e in parsed.value.errors]
    assert failed.value.errors
    with db.sessions() as session:
        assert session.scalar(select(CustomerRow.id).limit(1)) is None


@pytest.mark.parametrize("kind", [ImportKind.CUSTOMERS, ImportKind.AUTHORIZATIONS])
def test_whatever_plain_check_accepts_the_checks_read_as_written(kind: ImportKind) -> None:
    plain = plain_check(kind, NOW)
    assert plain is not None
    samples_of: dict[ImportKind, list[tuple[str, ...]]] = {
        ImportKind.CUSTOMERS: [
            ("C1", "a@b.co", "Ann", "SCE", "verified", "2026-11-19T08:00:00Z"),
            ("C.2:x-y_z", "", "", "SDGE", "", ""),
            ("C3", "a@b.co", "Ann ", "SCE", "", ""),
            ("C4", "a@b.co", "Ann", "SCE", "", "2026-11-21T12:00:01+00:00"),
        ],
        ImportKind.AUTHORIZATIONS: [
            ("A1", "C1", "expired", "1999-12-31T23:59:59", "FB=1", "", "2030-01-01T00:00:00Z"),
            ("A2", "C1", "denied", "", "", "", ""),
            ("A3", "C1", "active", "2026-11-01T00:00:00.5Z", "", "", ""),
            ("-A4", "C1", "active", "", "", "", ""),
        ],
    }
    accepted = 0
    for fields in samples_of[kind]:
        if not plain("\x00".join(fields)):
            continue
        accepted += 1
        row = parse_csv("x.csv", [",".join(COLUMNS[kind]) + "\n", ",".join(fields) + "\n"], NOW).rows[0]
        assert tuple("" if v is None else v for v in row[1:3]) == fields[:2]
    assert accepted == 2


def test_new_customers_get_their_summary_and_old_ones_theirs_refreshed(db: Database, tmp_path: Path) -> None:
    customers = write(tmp_path, "customers.csv", CUSTOMERS_HEADER + "C1,,,SCE,,\nC2,,,SCE,,\nC3,,,PGE,,\n")
    authorizations = write(tmp_path, "authorizations.csv", AUTHORIZATIONS_HEADER + (
        "A1,C1,active,2026-06-01T00:00:00Z,FB=1_3,,\n"
        "A2,C1,pending,2026-07-01T00:00:00Z,FB=1_3_4_5,2027-01-01T00:00:00Z,\n"
        "A3,C2,revoked,2026-06-01T00:00:00Z,,,2026-08-01T00:00:00Z\n"
    ))
    procedures = write(tmp_path, "procedures.csv", "customer_id,sent_at,ticket_id,agent\n"
                       "C2,2026-10-01T09:00:00Z,1,sam\nC2,2026-11-01T09:00:00Z,2,sam\n")
    import_files(db, [procedures, authorizations, customers], now=NOW)
    first = assert_in_step(db)
    assert first["C1"][0] == 2 and first["C2"][4:] == (datetime(2026, 10, 1, 9, tzinfo=UTC),
                                                       datetime(2026, 11, 1, 9, tzinfo=UTC))
    # Old customers now: an authorization moves from C1 to C3, another is revoked, a fourth customer is new.
    moved = write(tmp_path, "authorizations-2.csv", AUTHORIZATIONS_HEADER + (
        "A1,C3,active,2026-06-01T00:00:00Z,FB=1_3,,\n"
        "A2,C1,revoked,2026-07-01T00:00:00Z,FB=1_3_4_5,2027-01-01T00:00:00Z,2026-11-02T00:00:00Z\n"
        "A4,C4,active,2026-11-01T00:00:00Z,,,\n"
    ))
    more = write(tmp_path, "customers-2.csv", CUSTOMERS_HEADER + "C4,,,SCE,,\n")
    import_files(db, [moved, more], now=NOW)
    after = assert_in_step(db)
    assert (after["C1"][0], after["C3"][0], after["C4"][0]) == (0, 1, 1)
    # The import's suspension of the triggers ended with its transaction: the next writer's trigger runs.
    with db.transaction() as session:
        session.add(ProcedureRow(customer_id="C4", sent_at=datetime(2026, 11, 3, tzinfo=UTC), ticket_id="9"))
        session.execute(text("UPDATE authorizations SET status = 'active' WHERE id = 'A2'"))
    final = assert_in_step(db)
    assert final["C1"][0] == 1 and final["C4"][4] == datetime(2026, 11, 3, tzinfo=UTC)
