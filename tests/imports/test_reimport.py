"""Re-imports: only the rows that differ from what was last imported are read again, checked and written.

A re-import stages each row's key and fingerprint, reads the file a second time for the rows that are new or
differ, and checks only those. These tests hold what that must not change: every bad row of a changed file
is still listed with its file and line, repeats and unknown customers are still found, and a row another
writer changed since (the Green Button sync) is read again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from commands.imports import AuthorizationImport, ImportFailed
from commands.rules import AuthorizationStatus
from commands.sync import Mapped as MappedFeed
from models import Database
from models.customers import AuthorizationRow, CustomerRow
from models.imports import import_file, import_files
from models.sync import apply_feed
from tests.imports.test_writing import AUTHORIZATIONS, CUSTOMERS, FULL_SCOPE, NOW, import_all, snapshot, write
from tests.summaries import assert_in_step


def fingerprints(db: Database) -> dict[str, int | None]:
    with db.transaction() as session:
        rows = session.execute(select(AuthorizationRow.id, AuthorizationRow.import_fingerprint)).all()
        customers = session.execute(select(CustomerRow.id, CustomerRow.import_fingerprint)).all()
    return {str(key): value for key, value in [*rows, *customers]}


def refused(db: Database, *paths: Path) -> list[tuple[str, int, str]]:
    with pytest.raises(ImportFailed) as info:
        import_files(db, list(paths), now=NOW)
    return [(e.source, e.line, e.message) for e in info.value.errors]


def test_every_imported_row_is_fingerprinted_and_an_unchanged_reimport_keeps_them(
    db: Database, tmp_path: Path
) -> None:
    import_all(db, tmp_path)
    first = fingerprints(db)
    assert set(first) == {"A1", "A2", "A3", "A4", "C1", "C2", "C3", "C4"}
    assert None not in first.values() and len(set(first.values())) == len(first)
    before = snapshot(db)
    import_all(db, tmp_path)
    assert fingerprints(db) == first
    assert snapshot(db) == before


def test_a_reimport_writes_the_changed_row_and_only_it(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    first = fingerprints(db)
    changed = AUTHORIZATIONS.replace("A3,C2,revoked,2026-08-01T00:00:00Z,FB=36_40,,2026-11-17T11:00:00Z",
                                     "A3,C2,active,2026-08-01T00:00:00Z,FB=36_40,,")
    import_file(db, write(tmp_path, "authorizations.csv", changed), now=NOW)
    after = fingerprints(db)
    assert {k for k in first if first[k] != after[k]} == {"A3"}
    with db.transaction() as session:
        a3 = session.get_one(AuthorizationRow, "A3")
        assert (a3.status, a3.revoked_at) == ("active", None)
        # The customer summary (migration 0006) follows the one changed row.
        assert session.get_one(CustomerRow, "C2").live_authorizations == 2


def test_a_field_written_differently_is_read_again_and_stores_the_same_values(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    first = fingerprints(db)
    with db.transaction() as session:
        before = session.execute(select(AuthorizationRow.__table__).where(AuthorizationRow.id == "A1")).one()
    # The same values written otherwise (spaces, capitals, another offset): the row is read and checked again,
    # and only its fingerprint changes.
    import_file(db, write(tmp_path, "authorizations.csv", AUTHORIZATIONS.replace(
        "A1,C1,active,2026-06-01T00:00:00Z", "A1 , C1,ACTIVE,2026-05-31T17:00:00-07:00")), now=NOW)
    after = fingerprints(db)
    assert {k for k in first if first[k] != after[k]} == {"A1"}
    with db.transaction() as session:
        row = session.execute(select(AuthorizationRow.__table__).where(AuthorizationRow.id == "A1")).one()
    assert row._asdict() == {**before._asdict(), "import_fingerprint": after["A1"]}


def test_a_bad_value_in_a_changed_row_is_listed_and_nothing_is_written(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    bad = AUTHORIZATIONS.replace("A2,C2,pending,", "A2,C2,pendng,").replace(
        "A4,C3,active,2026-10-01T00:00:00Z", "A4,C3,active,2026-13-01T00:00:00Z")
    errors = refused(db, write(tmp_path, "authorizations.csv", bad))
    assert [(source, line) for source, line, _ in errors] == [("authorizations.csv", 3), ("authorizations.csv", 5)]
    assert "status 'pendng'" in errors[0][2]
    assert "granted_at '2026-13-01T00:00:00Z'" in errors[1][2]
    assert snapshot(db) == before


def test_a_row_of_the_wrong_width_gets_every_row_checked(db: Database, tmp_path: Path) -> None:
    # A malformed row makes the changed rows unknowable: every row is checked, so every bad one is listed.
    import_all(db, tmp_path)
    bad = AUTHORIZATIONS.replace("A1,C1,active,", "A1,C1,active,extra,").replace("A4,C3,active,", "A4,C3,actve,")
    errors = refused(db, write(tmp_path, "authorizations.csv", bad))
    assert [(line, message.split(" ")[0]) for _, line, message in errors] == [(2, "8"), (5, "status")]


def test_a_repeated_id_is_found_although_one_of_its_rows_is_unchanged(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    repeated = AUTHORIZATIONS + f"A1,C3,active,2026-06-01T00:00:00Z,{FULL_SCOPE},,\n"
    errors = refused(db, write(tmp_path, "authorizations.csv", repeated))
    assert errors == [("authorizations.csv", 6, "repeats line 2 (A1)")]


def test_an_unknown_customer_in_a_changed_row_is_refused(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    errors = refused(db, write(tmp_path, "authorizations.csv", AUTHORIZATIONS.replace("A4,C3,", "A4,C9,")))
    assert errors == [("authorizations.csv", 5, "unknown customer C9: import the customers file first")]


def test_a_changed_customer_and_its_new_authorization_in_one_call(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    customers = CUSTOMERS + "C5,eve@example.com,Eve,SCE,pending,\n"
    authorizations = AUTHORIZATIONS + f"A5,C5,pending,2026-11-19T00:00:00Z,{FULL_SCOPE},,\n"
    import_files(db, [write(tmp_path, "authorizations.csv", authorizations),
                      write(tmp_path, "customers.csv", customers)], now=NOW)
    with db.transaction() as session:
        assert session.get_one(AuthorizationRow, "A5").customer_id == "C5"
        assert session.get_one(CustomerRow, "C5").live_authorizations == 1


def test_line_numbers_hold_past_a_field_that_spans_lines(db: Database, tmp_path: Path) -> None:
    # The second pass finds the changed rows by line number: a quoted field with a newline must not shift them.
    text = AUTHORIZATIONS.replace(f"A1,C1,active,2026-06-01T00:00:00Z,{FULL_SCOPE},,",
                                  'A1,C1,active,2026-06-01T00:00:00Z,"FB=1_3_4_5\nIntervalDuration=3600",,')
    import_all(db, tmp_path)
    import_file(db, write(tmp_path, "authorizations.csv", text), now=NOW)
    changed = text.replace("A4,C3,active,", "A4,C3,pending,")
    import_file(db, write(tmp_path, "authorizations.csv", changed), now=NOW)
    with db.transaction() as session:
        assert session.get_one(AuthorizationRow, "A4").status == "pending"
        assert session.get_one(AuthorizationRow, "A1").scope == "FB=1_3_4_5\nIntervalDuration=3600"
    errors = refused(db, write(tmp_path, "authorizations.csv", changed.replace("A3,C2,revoked", "A3,C2,gone")))
    assert [line for _, line, _ in errors] == [5]


def test_the_sync_clears_the_fingerprints_of_what_it_writes(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    authorizations = write(tmp_path, "authorizations.csv", AUTHORIZATIONS)
    pending = AuthorizationImport(1, "A1", "C1", AuthorizationStatus.PENDING, NOW, FULL_SCOPE, None, None)
    with db.transaction() as session:
        apply_feed(session, "SCE", MappedFeed(rows=[pending], uris={"A1": "https://x/Authorization/1"}, unmapped=0),
                   NOW)
    assert fingerprints(db)["A1"] is None
    import_file(db, authorizations, now=NOW)  # the CSV says active again: read again, and it wins
    assert fingerprints(db)["A1"] is not None
    with db.transaction() as session:
        # A1 vanished from the custodian's complete feed: revoked by the sync's own UPDATE.
        apply_feed(session, "SCE", MappedFeed(rows=[], uris={}, unmapped=0), NOW)
        assert session.get_one(AuthorizationRow, "A1").status == "revoked"
    assert fingerprints(db)["A1"] is None
    import_file(db, authorizations, now=NOW)
    with db.transaction() as session:
        assert session.get_one(AuthorizationRow, "A1").status == "active"


def test_more_changed_rows_than_one_page_are_all_read_again(db: Database, tmp_path: Path) -> None:
    # Changed lines come from the database a page (5,000) at a time: three pages here, the last one partial.
    rows = 11_003

    def authorizations(status: str) -> str:
        lines = [f"Z{n:06d},C{1 + n % 4},{status},2026-06-01T00:00:00Z,{FULL_SCOPE},," for n in range(rows)]
        return "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n" + "\n".join(lines)

    customers = write(tmp_path, "customers.csv", CUSTOMERS)
    import_files(db, [customers, write(tmp_path, "authorizations.csv", authorizations("revoked"))], now=NOW)
    last = f"Z{rows - 1:06d},C{1 + (rows - 1) % 4}"
    changed = authorizations("pending").replace(f"{last},pending", f"{last},pendng")
    errors = refused(db, write(tmp_path, "authorizations.csv", changed))
    assert [(line, message[:16]) for _, line, message in errors] == [(rows + 1, "status 'pendng' ")]
    import_file(db, write(tmp_path, "authorizations.csv", authorizations("pending")), now=NOW)
    with db.transaction() as session:
        statuses = session.execute(select(AuthorizationRow.status).where(AuthorizationRow.id.like("Z%"))).scalars()
        assert sorted(set(statuses)) == ["pending"]
        assert session.get_one(CustomerRow, "C1").live_authorizations == len(range(0, rows, 4))


def test_the_same_file_onto_an_unchanged_table_reports_its_rows_and_changes_nothing(
    db: Database, tmp_path: Path
) -> None:
    first = import_all(db, tmp_path)
    before, prints = snapshot(db), fingerprints(db)
    again = import_all(db, tmp_path)
    assert [(r.source, r.kind, r.rows) for r in again] == [(r.source, r.kind, r.rows) for r in first]
    assert snapshot(db) == before and fingerprints(db) == prints


def test_the_same_file_is_read_again_once_its_table_changed_by_other_hands(db: Database, tmp_path: Path) -> None:
    import_all(db, tmp_path)
    before = snapshot(db)
    with db.transaction() as session:  # a hand-run statement: C2 and, by cascade, its authorizations go
        session.execute(text("DELETE FROM customers WHERE id = 'C2'"))
    import_all(db, tmp_path)
    after = snapshot(db)  # procedures come back too, with new row ids
    assert (after["customers"], after["authorizations"]) == (before["customers"], before["authorizations"])
    assert_in_step(db)


def test_a_key_repeated_in_another_file_of_the_kind_is_found_next_to_an_unchanged_file(
    db: Database, tmp_path: Path
) -> None:
    import_all(db, tmp_path)
    authorizations = write(tmp_path, "authorizations.csv", AUTHORIZATIONS)
    extra = write(tmp_path, "more-authorizations.csv", AUTHORIZATIONS.splitlines()[0] + "\n"
                  f"A1,C3,active,2026-06-01T00:00:00Z,{FULL_SCOPE},,\n")
    errors = refused(db, authorizations, extra)
    assert errors == [("more-authorizations.csv", 2, "repeats authorizations.csv, line 2 (A1)")]
