"""Importing CSV files into the database (SQLite and PostgreSQL), the case queries, and `check` end to end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commands.check import (
    Ambiguous,
    EnrollmentStatus,
    Invalid,
    NotFound,
    QueryKind,
    QueryProblem,
    Report,
    check,
)
from commands.imports import ImportFailed, ImportKind
from commands.policy import Utility
from commands.rules import Action, AuthorizationStatus, Procedure, Reason
from models import Database
from models.check import SqlCaseRecords
from models.customers import AuthorizationRow, CustomerRow, LookupRow, ProcedureRow
from models.imports import Imported, import_file, import_files
from tests.summaries import assert_in_step

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FULL_SCOPE = "FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;"

CUSTOMERS = """customer_id,email,name,utility,enrollment_status,last_data_at
C1,alice@example.com,Alice Smith,SCE,verified,2026-11-19T08:00:00-08:00
C2,Bob.Jones@Example.COM,Bob Jones,PGE,pending,
C3,bob.jones@example.com,Bob Jones (cabin),SDGE,verified,2026-10-01T00:00:00Z
C4,,No Mail,SCE,,
"""
AUTHORIZATIONS = f"""authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at
A1,C1,active,2026-06-01T00:00:00Z,{FULL_SCOPE},,
A2,C2,pending,2026-11-17T12:00:00Z,{FULL_SCOPE},,
A3,C2,revoked,2026-08-01T00:00:00Z,FB=36_40,,2026-11-17T11:00:00Z
A4,C3,active,2026-10-01T00:00:00Z,{FULL_SCOPE},2030-01-01T00:00:00Z,
"""
PROCEDURES = """customer_id,sent_at,ticket_id,agent
C2,2026-11-16T09:00:00-08:00,1001,sam
C3,2026-10-05T09:00:00Z,2002,alex
C3,2026-10-20T09:00:00Z,,alex
"""

Snapshot = dict[str, list[tuple[Any, ...]]]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_all(db: Database, tmp_path: Path) -> list[Imported]:
    return [
        import_file(db, write(tmp_path, "customers.csv", CUSTOMERS)),
        import_file(db, write(tmp_path, "authorizations.csv", AUTHORIZATIONS)),
        import_file(db, write(tmp_path, "procedures.csv", PROCEDURES)),
    ]


IMPORTED_CUSTOMER_COLUMNS = (
    CustomerRow.id, CustomerRow.email, CustomerRow.email_key, CustomerRow.name, CustomerRow.utility,
    CustomerRow.enrollment_status, CustomerRow.last_data_at,
)


def snapshot(db: Database) -> Snapshot:
    """Every row of every imported table, in a stable order."""
    with db.transaction() as session:
        return {
            # What the importer writes: the summary columns follow from the other tables (0006's triggers).
            "customers": [
                tuple(r) for r in session.execute(select(*IMPORTED_CUSTOMER_COLUMNS).order_by(CustomerRow.id))
            ],
            "authorizations": [
                tuple(r)
                for r in session.execute(select(AuthorizationRow.__table__).order_by(AuthorizationRow.id))
            ],
            "procedures": [
                tuple(r) for r in session.execute(select(ProcedureRow.__table__).order_by(ProcedureRow.id))
            ],
            "lookups": [
                tuple(r) for r in session.execute(select(LookupRow.__table__).order_by(LookupRow.id))
            ],
        }


def count(session: Session, entity: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(entity)) or 0


def failure(db: Database, path: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as info:
        import_file(db, path)
    return info.value


# --- importing ----------------------------------------------------------------------------------------


def test_import_good_files(db: Database, tmp_path: Path) -> None:
    results = import_all(db, tmp_path)
    assert results == [
        Imported("customers.csv", ImportKind.CUSTOMERS, 4),
        Imported("authorizations.csv", ImportKind.AUTHORIZATIONS, 4),
        Imported("procedures.csv", ImportKind.PROCEDURES, 3),
    ]
    with db.transaction() as session:
        assert [count(session, e) for e in (CustomerRow, AuthorizationRow, ProcedureRow)] == [4, 4, 3]
        c1 = session.get_one(CustomerRow, "C1")
        assert (c1.email, c1.email_key, c1.name, c1.utility, c1.enrollment_status) == (
            "alice@example.com",
            "alice@example.com",
            "Alice Smith",
            "SCE",
            "verified",
        )
        assert c1.last_data_at == datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
        assert c1.last_data_at is not None and c1.last_data_at.utcoffset() == timedelta(0)
        c2 = session.get_one(CustomerRow, "C2")
        assert (c2.email, c2.email_key, c2.last_data_at) == (
            "Bob.Jones@Example.COM",
            "bob.jones@example.com",
            None,
        )
        c4 = session.get_one(CustomerRow, "C4")
        assert (c4.email, c4.email_key, c4.enrollment_status) == (None, None, None)
        a3 = session.get_one(AuthorizationRow, "A3")
        assert (a3.customer_id, a3.status, a3.scope) == ("C2", "revoked", "FB=36_40")
        assert a3.revoked_at == datetime(2026, 11, 17, 11, 0, tzinfo=UTC)
        procedures = session.scalars(select(ProcedureRow).order_by(ProcedureRow.sent_at)).all()
        assert [(p.customer_id, p.sent_at, p.ticket_id, p.agent) for p in procedures] == [
            ("C3", datetime(2026, 10, 5, 9, 0, tzinfo=UTC), "2002", "alex"),
            ("C3", datetime(2026, 10, 20, 9, 0, tzinfo=UTC), "", "alex"),
            ("C2", datetime(2026, 11, 16, 17, 0, tzinfo=UTC), "1001", "sam"),
        ]


BAD_FILES: dict[str, tuple[str, str, int]] = {
    "customers": (
        "customers_fix.csv",
        "customer_id,email,name,utility,enrollment_status,last_data_at\n"
        "C1,changed@example.com,Changed,PGE,pending,\n"
        "C9,new@example.com,New,SCE,,\n"
        "C8,bad@example.com,Bad,CONED,,\n"
        "C7,seven@example.com,Seven,SDGE,,\n",
        4,
    ),
    "authorizations": (
        "authorizations_fix.csv",
        "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"
        "A1,C1,revoked,2026-06-01T00:00:00Z,,,2026-11-01T00:00:00Z\n"
        "A9,C1,pending,2026-11-18T00:00:00Z,,,\n"
        "A8,C1,active,not a date,,,\n",
        4,
    ),
    "procedures": (
        "procedures_fix.csv",
        "customer_id,sent_at,ticket_id,agent\n"
        "C2,2026-11-16T17:00:00Z,1001,someone-else\n"
        "C1,2026-11-18T00:00:00Z,3003,sam\n"
        "C1,2026-11-18T00:00:00Z,ZD/3003,sam\n",
        4,
    ),
}


@pytest.mark.parametrize(("name", "text", "bad_line"), list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_one_bad_row_writes_nothing_of_the_file(
    db: Database, tmp_path: Path, name: str, text: str, bad_line: int
) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    failed = failure(db, write(tmp_path, name, text))
    assert failed.source == name
    assert [e.line for e in failed.errors] == [bad_line]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("name", "text", "lines"),
    [
        (
            "late_authorizations.csv",
            "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"
            "A1,C1,revoked,2026-06-01T00:00:00Z,,,2026-11-01T00:00:00Z\n"
            "A9,C404,pending,2026-11-18T00:00:00Z,,,\n"
            "A10,C2,pending,2026-11-18T00:00:00Z,,,\n"
            "A11,C405,pending,2026-11-18T00:00:00Z,,,\n",
            [3, 5],
        ),
        (
            "late_procedures.csv",
            "customer_id,sent_at,ticket_id,agent\n"
            "C1,2026-11-18T00:00:00Z,3003,sam\n"
            "C404,2026-11-18T00:00:00Z,3004,sam\n",
            [3],
        ),
    ],
    ids=["authorizations", "procedures"],
)
def test_unknown_customer_fails_with_file_and_line(
    db: Database, tmp_path: Path, name: str, text: str, lines: list[int]
) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    failed = failure(db, write(tmp_path, name, text))
    assert failed.source == name
    assert [e.line for e in failed.errors] == lines
    assert "C404" in failed.errors[0].message
    assert f"{name}, line {lines[0]}" in str(failed)
    assert snapshot(db) == before


def test_authorizations_before_customers_fail(db: Database, tmp_path: Path) -> None:
    failed = failure(db, write(tmp_path, "authorizations.csv", AUTHORIZATIONS))
    assert [e.line for e in failed.errors] == [2, 3, 4, 5]
    assert snapshot(db) == {"customers": [], "authorizations": [], "procedures": [], "lookups": []}


def test_reimporting_the_same_files_changes_nothing(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    assert [r.rows for r in import_all(db, tmp_path)] == [4, 4, 3]
    assert snapshot(db) == before


def test_reimporting_a_changed_file_updates_by_id(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    import_file(
        db,
        write(
            tmp_path,
            "customers.csv",
            CUSTOMERS.replace(
                "C1,alice@example.com,Alice Smith,SCE,verified,2026-11-19T08:00:00-08:00",
                "C1,Alice.New@Example.com,Alice N. Smith,PGE,pending,",
            ),
        ),
    )
    import_file(
        db,
        write(
            tmp_path,
            "authorizations.csv",
            AUTHORIZATIONS.replace(
                f"A2,C2,pending,2026-11-17T12:00:00Z,{FULL_SCOPE},,",
                "A2,C2,active,2026-11-17T12:00:00Z,FB=1_3,,",
            ),
        ),
    )
    import_file(db, write(tmp_path, "procedures.csv", PROCEDURES.replace("1001,sam", "1001,kim")))
    after = snapshot(db)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    with db.transaction() as session:
        c1 = session.get_one(CustomerRow, "C1")
        assert (c1.email, c1.email_key, c1.name, c1.utility, c1.enrollment_status, c1.last_data_at) == (
            "Alice.New@Example.com",
            "alice.new@example.com",
            "Alice N. Smith",
            "PGE",
            "pending",
            None,
        )
        a2 = session.get_one(AuthorizationRow, "A2")
        assert (a2.status, a2.scope) == ("active", "FB=1_3")
        procedure = session.scalars(select(ProcedureRow).where(ProcedureRow.ticket_id == "1001")).one()
        assert procedure.agent == "kim"
        records = SqlCaseRecords(session)
        assert records.customers_by_email("alice@example.com") == []
        assert [c.id for c in records.customers_by_email("ALICE.NEW@example.COM")] == ["C1"]
    untouched: dict[str, Callable[[tuple[Any, ...]], bool]] = {
        "customers": lambda row: row[0] != "C1",
        "authorizations": lambda row: row[0] != "A2",
        "procedures": lambda row: row[3] != "1001",
    }
    for table, keep in untouched.items():
        assert [r for r in after[table] if keep(r)] == [r for r in before[table] if keep(r)]
        assert [r for r in after[table] if not keep(r)] != [r for r in before[table] if not keep(r)]
    # Updated in place: the procedure keeps its row id.
    assert [r[0] for r in after["procedures"]] == [r[0] for r in before["procedures"]]


def test_a_three_file_call_with_a_bad_third_file_writes_nothing(db: Database, tmp_path: Path) -> None:
    # One call, one transaction: the good files before the bad one are not left committed, and the bad
    # one's rows are all listed with file and line.
    customers = write(tmp_path, "customers.csv", CUSTOMERS)
    procedures = write(tmp_path, "procedures.csv", PROCEDURES)
    bad = write(tmp_path, "authorizations.csv",
                AUTHORIZATIONS.replace("pending", "waiting").replace("A4,C3,active", "A4,C3,lapsed"))
    with pytest.raises(ImportFailed) as info:
        import_files(db, [customers, procedures, bad])
    failed = info.value
    assert [(e.source, e.line) for e in failed.errors] == [("authorizations.csv", 3), ("authorizations.csv", 5)]
    assert "authorizations.csv, line 3: status 'waiting'" in str(failed)
    assert snapshot(db) == {"customers": [], "authorizations": [], "procedures": [], "lookups": []}


def test_bad_rows_of_several_files_are_all_listed(db: Database, tmp_path: Path) -> None:
    customers = write(tmp_path, "customers.csv", CUSTOMERS.replace("C4,,No Mail,SCE", "C4,,No Mail,MARS"))
    bad = write(tmp_path, "authorizations.csv", AUTHORIZATIONS.replace("pending", "waiting"))
    with pytest.raises(ImportFailed) as info:
        import_files(db, [bad, customers])
    assert [(e.source, e.line) for e in info.value.errors] == [("customers.csv", 5), ("authorizations.csv", 3)]
    assert snapshot(db)["customers"] == []


def test_three_good_files_in_one_call(db: Database, tmp_path: Path) -> None:
    paths = [write(tmp_path, name, text) for name, text in
             (("procedures.csv", PROCEDURES), ("authorizations.csv", AUTHORIZATIONS), ("customers.csv", CUSTOMERS))]
    assert import_files(db, paths) == [
        Imported("customers.csv", ImportKind.CUSTOMERS, 4),
        Imported("authorizations.csv", ImportKind.AUTHORIZATIONS, 4),
        Imported("procedures.csv", ImportKind.PROCEDURES, 3),
    ]
    with db.transaction() as session:
        assert [count(session, e) for e in (CustomerRow, AuthorizationRow, ProcedureRow)] == [4, 4, 3]
    assert_in_step(db)


def test_a_file_that_is_not_utf8(db: Database, tmp_path: Path) -> None:
    # The Latin-1 byte is on line 2, and that is where it is reported.
    path = tmp_path / "latin1.csv"
    path.write_bytes(CUSTOMERS.replace("Alice Smith", "Zoë").encode("latin-1"))
    failed = failure(db, path)
    assert failed.source == "latin1.csv" and [e.line for e in failed.errors] == [2]
    assert "0xeb" in failed.errors[0].message and "UTF-8" in failed.errors[0].message
    assert snapshot(db)["customers"] == []


REPEATS: dict[str, tuple[str, str, str, str]] = {
    "customer id": ("customers.csv", "C1,a@example.com,A,SCE,,", "C1,b@example.com,B,PGE,,", "C1"),
    "authorization id": ("authorizations.csv", "A1,C1,active,,,,", "A1,C2,revoked,,,,", "A1"),
    "procedure, same instant in another offset": (
        "procedures.csv", "C1,2026-11-05T09:00:00Z,123,sam", "C1,2026-11-05T01:00:00-08:00,123,alex", "C1",
    ),
    "procedure without a ticket": ("procedures.csv", "C1,2026-11-05T09:00:00Z,,", "C1,2026-11-05T09:00:00,,", "C1"),
}


@pytest.mark.parametrize(("name", "first", "again", "key"), list(REPEATS.values()), ids=list(REPEATS))
def test_repeated_id(db: Database, tmp_path: Path, name: str, first: str, again: str, key: str) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    header = {"customers.csv": CUSTOMERS, "authorizations.csv": AUTHORIZATIONS,
              "procedures.csv": PROCEDURES}[name].splitlines()[0]
    failed = failure(db, write(tmp_path, name, f"{header}\n{first}\n{again}\n"))
    assert [e.line for e in failed.errors] == [3]
    assert "repeats line 2" in failed.errors[0].message
    assert key in failed.errors[0].message
    assert snapshot(db) == before


def test_a_key_repeated_across_two_files_names_the_other_file(db: Database, tmp_path: Path) -> None:
    one = write(tmp_path, "one.csv", CUSTOMERS)
    two = write(tmp_path, "two.csv", CUSTOMERS.splitlines()[0] + "\nC9,,,SCE,,\nC2,,,PGE,,\n")
    with pytest.raises(ImportFailed) as info:
        import_files(db, [one, two])
    assert [(e.source, e.line) for e in info.value.errors] == [("two.csv", 3)]
    assert "repeats one.csv, line 3 (C2)" in info.value.errors[0].message


def test_a_nul_byte_is_a_bad_row_on_both_databases(db: Database, tmp_path: Path) -> None:
    # PostgreSQL refuses NUL in text (DataError) and SQLite stores it: both now refuse it on its line.
    path = tmp_path / "nul.csv"
    path.write_bytes(CUSTOMERS.replace("No Mail", "No\x00Mail").encode())
    failed = failure(db, path)
    assert [(e.source, e.line) for e in failed.errors] == [("nul.csv", 5)]
    assert "NUL" in failed.errors[0].message
    assert snapshot(db)["customers"] == []


def test_a_field_over_128_kib_is_a_bad_row(db: Database, tmp_path: Path) -> None:
    # csv's field limit: an unclosed quote reads the rest of the file as one field.
    text = CUSTOMERS + 'C5,,"' + "x" * (129 * 1024) + ",SCE,,\nC6,,,SCE,,\n"
    failed = failure(db, write(tmp_path, "huge.csv", text))
    assert [(e.source, e.line) for e in failed.errors] == [("huge.csv", 6)]
    assert "field larger than field limit" in failed.errors[0].message and "quote" in failed.errors[0].message
    assert snapshot(db)["customers"] == []


def test_excel_utf8_bom_is_read(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CUSTOMERS.replace("\n", "\r\n").encode())
    assert import_file(db, path) == Imported("excel.csv", ImportKind.CUSTOMERS, 4)


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("C9,x@example.com," + "N" * 201 + ",SCE,,", "name"),
        ("C9," + "x" * 310 + "@example.com,X,SCE,,", "email"),
    ],
    ids=["name longer than its column", "e-mail longer than its column"],
)
def test_a_value_too_long_for_its_column_is_a_bad_row(
    db: Database, tmp_path: Path, row: str, column: str
) -> None:
    # DESIGN: "a bad row is reported with its line number and nothing of that file is written", on both
    # databases alike (PostgreSQL would otherwise raise a raw DataError, SQLite store it silently).
    import_all(db, tmp_path)
    before = snapshot(db)
    header = CUSTOMERS.splitlines()[0]
    path = write(tmp_path, "long.csv", f"{header}\nC8,ok@example.com,OK,SCE,,\n{row}\n")
    failed = failure(db, path)
    assert [e.line for e in failed.errors] == [3]
    assert column in failed.errors[0].message
    assert snapshot(db) == before


# --- the queries behind /reauth-check ----------------------------------------------------------------------


def test_email_lookup_is_case_insensitive(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    with db.transaction() as session:
        records = SqlCaseRecords(session)
        for email in ("alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.Com"):
            assert [c.id for c in records.customers_by_email(email)] == ["C1"]
        assert records.customers_by_email("nobody@example.com") == []
        assert records.customers_by_email("") == []


def test_customers_sharing_an_email_are_all_returned(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    with db.transaction() as session:
        found = SqlCaseRecords(session).customers_by_email("bob.jones@EXAMPLE.com")
    assert sorted(c.id for c in found) == ["C2", "C3"]
    assert {c.email for c in found} == {"Bob.Jones@Example.COM", "bob.jones@example.com"}


def test_lookup_by_id_and_by_ticket(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    with db.transaction() as session:
        records = SqlCaseRecords(session)
        (c2,) = records.customers_by_id("C2")
        assert (c2.id, c2.utility, c2.enrollment_status, c2.last_data_at) == (
            "C2",
            Utility.PGE,
            EnrollmentStatus.PENDING,
            None,
        )
        assert [c.id for c in records.customers_by_id("c2")] == ["C2"]  # ids are matched in either case
        assert records.customers_by_id("C404") == []
        assert [c.id for c in records.customers_by_ticket("1001")] == ["C2"]
        assert [c.id for c in records.customers_by_ticket("2002")] == ["C3"]
        assert records.customers_by_ticket("9999") == []
        assert records.customers_by_ticket("#1001") == []  # the check reads the ticket grammar, not storage


def test_case_file(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    with db.transaction() as session:
        case_file = SqlCaseRecords(session).case_file("C3")
    assert case_file.customer.id == "C3"
    assert case_file.customer.last_data_at == datetime(2026, 10, 1, tzinfo=UTC)
    (a4,) = case_file.authorizations
    assert (a4.id, a4.status, a4.authorized_end) == (
        "A4",
        AuthorizationStatus.ACTIVE,
        datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert sorted(case_file.procedures, key=lambda p: p.sent_at) == [
        Procedure(datetime(2026, 10, 5, 9, 0, tzinfo=UTC), "2002", "alex"),
        Procedure(datetime(2026, 10, 20, 9, 0, tzinfo=UTC), None, "alex"),
    ]


def test_record_lookup_writes_an_audit_row(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    with db.transaction() as session:
        SqlCaseRecords(session).record_lookup("C1", agent="U123", at=NOW, source="slack")
    with db.transaction() as session:
        rows = session.scalars(select(LookupRow)).all()
        assert [(r.customer_id, r.agent, r.looked_up_at, r.source) for r in rows] == [
            ("C1", "U123", NOW, "slack")
        ]


# --- check() end to end ----------------------------------------------------------------------------------


def run_check(db: Database, text: str, now: datetime = NOW) -> object:
    with db.transaction() as session:
        return check(SqlCaseRecords(session), text, now=now, agent="U123", source="cli")


def lookups(db: Database) -> list[tuple[str, str, datetime, str]]:
    with db.transaction() as session:
        return [
            (r.customer_id, r.agent, r.looked_up_at, r.source)
            for r in session.scalars(select(LookupRow).order_by(LookupRow.id))
        ]


def test_check_report_by_email(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    report = run_check(db, "<mailto:ALICE@example.com|ALICE@example.com> 4455")
    assert isinstance(report, Report)
    assert report.customer.id == "C1"
    assert report.connected
    assert report.recommendation.action is Action.HEALTHY
    assert report.ticket_ref == "4455"
    assert [a.id for a in report.live] == ["A1"]
    assert lookups(db) == [("C1", "U123", NOW, "cli")]


def test_check_report_by_id_waits(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    report = run_check(db, "C2")
    assert isinstance(report, Report)
    assert report.customer.utility is Utility.PGE
    assert not report.connected
    assert [a.id for a in report.authorizations] == ["A2", "A3"]
    assert [a.id for a in report.live] == ["A2"]
    granted = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    assert report.recommendation.action is Action.WAIT
    assert report.recommendation.reasons == (Reason.VERIFICATION_WINDOW,)
    assert report.recommendation.wait_until == granted + timedelta(days=7)
    assert report.ticket_ref is None
    # One week later the same customer, re-authorized after support's steps, is an escalation.
    later = run_check(db, "C2", now=granted + timedelta(days=7, seconds=1))
    assert isinstance(later, Report)
    assert later.recommendation.action is Action.ESCALATE
    assert later.recommendation.reasons == (Reason.REAUTH_DID_NOT_HELP,)


def test_check_report_by_ticket_url_and_id(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    by_url = run_check(db, "https://acme.zendesk.com/agent/tickets/2002")
    assert isinstance(by_url, Report)
    assert by_url.customer.id == "C3"
    assert by_url.ticket_ref == "2002"
    # C3 got steps on 5 and 20 October, was still not connected on the 20th of November.
    assert by_url.recommendation.action is Action.REAUTH
    by_id = run_check(db, "1001")
    assert isinstance(by_id, Report)
    assert by_id.customer.id == "C2"
    assert by_id.ticket_ref == "1001"
    assert [c for c, *_ in lookups(db)] == ["C3", "C2"]


def test_check_reads_tickets_by_the_one_grammar(db: Database, tmp_path: Path) -> None:
    # A ticket is a number (`#1001` too) or a link naming one; `ZD-1001` is a customer id, never a ticket.
    import_all(db, tmp_path)
    by_hash = run_check(db, "#1001")
    assert isinstance(by_hash, Report) and by_hash.customer.id == "C2" and by_hash.ticket_ref == "1001"
    assert run_check(db, "https://acme.zendesk.com/agent/tickets/ZD-2002") == Invalid(QueryProblem.NOT_A_TICKET)
    assert run_check(db, "C2 INC-77") == Invalid(QueryProblem.NOT_A_TICKET)
    not_a_ticket = run_check(db, "ZD-1001")
    assert isinstance(not_a_ticket, NotFound) and not_a_ticket.query.kind is QueryKind.IDENTIFIER


def test_check_as_of_hides_later_procedures(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    report = run_check(db, "C3", now=datetime(2026, 10, 10, tzinfo=UTC))
    assert isinstance(report, Report)
    assert [p.sent_at for p in report.procedures] == [datetime(2026, 10, 5, 9, 0, tzinfo=UTC)]


def test_check_as_of_lists_only_authorizations_that_existed(db: Database, tmp_path: Path) -> None:
    # As procedures are: `--as-of --json` prints authorizations.total and each one's age_days from this list.
    import_all(db, tmp_path)
    as_of = datetime(2026, 11, 10, tzinfo=UTC)
    report = run_check(db, "C2", now=as_of)
    assert isinstance(report, Report)
    assert report.recommendation.action is Action.CONNECT
    assert report.live == ()
    assert [a.id for a in report.authorizations] == ["A3"]
    assert all((a.age_days(as_of) or 0) >= 0 for a in report.authorizations)


def test_check_not_found(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    for text in (
        "nobody@example.com",
        "C404",
        "https://acme.freshdesk.com/a/tickets/999",
        "x'OR'1'='1@example.com",
    ):
        outcome = run_check(db, text)
        assert isinstance(outcome, NotFound), text
    assert lookups(db) == []
    assert snapshot(db)["customers"] != []


def test_check_ambiguous(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    outcome = run_check(db, "BOB.JONES@example.com")
    assert isinstance(outcome, Ambiguous)
    assert outcome.query.kind is QueryKind.EMAIL
    assert [c.id for c in outcome.candidates] == ["C2", "C3"]
    assert lookups(db) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", QueryProblem.EMPTY),
        ("'; DROP TABLE customers; --", QueryProblem.TOO_MANY_WORDS),
        ("';DROP", QueryProblem.MALFORMED),
        ("x" * 4096, QueryProblem.TOO_LONG),
    ],
)
def test_check_invalid(db: Database, tmp_path: Path, text: str, problem: QueryProblem) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    assert run_check(db, text) == Invalid(problem)
    assert snapshot(db) == before
