"""Parsing the import CSVs: the kind from the header, every row checked, each bad row with its line number."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from commands.check import EnrollmentStatus
from commands.imports import (
    COLUMNS,
    MAX_ERRORS_SHOWN,
    AuthorizationImport,
    CustomerImport,
    ImportFailed,
    ImportKind,
    ImportRow,
    ParsedFile,
    ProcedureImport,
    RowError,
    SubscriptionImport,
    parse_csv,
)
from commands.policy import Utility
from commands.rules import AuthorizationStatus

SOURCE = "upload.csv"
HEADERS: dict[ImportKind, str] = {kind: ",".join(columns) for kind, columns in COLUMNS.items()}

GOOD_ROWS: dict[ImportKind, list[str]] = {
    ImportKind.CUSTOMERS: [
        "C1,alice@example.com,Alice Smith,SCE,verified,2026-11-02T09:30:00-08:00",
        "C2,Bob@Example.ORG,Bob,pge,pending,2026-11-02T17:30:00Z",
        "C3,,,SDGE,,2026-11-02T17:30:00",
        'C4,dana@example.net,"Jones, Dana",sdge,,',
    ],
    ImportKind.AUTHORIZATIONS: [
        "A1,C1,active,2026-10-01T08:00:00-07:00,FB=1_3_4_5;IntervalDuration=900;,2029-10-01T00:00:00Z,",
        "A2,C1,REVOKED,2026-09-01T00:00:00Z,,,2026-10-01T12:00:00+02:00",
        "A3,C2,pending,,FB=36_40,,",
    ],
    ImportKind.PROCEDURES: [
        "C1,2026-10-30T10:00:00-07:00,12345,sam",
        "C1,2026-11-05T09:00:00Z,,",
        "C2,2026-11-05T09:00:00,zd-77,",
    ],
    ImportKind.SUBSCRIPTIONS: [
        "https://api.pge.com/GreenButtonConnect/espi/1_1/resource/Subscription/0,C1",
        "https://test-api.example.com/espi/1_1/resource/Batch/RetailCustomer/test-customer-id/,C2",
    ],
}

EXPECTED: dict[ImportKind, list[ImportRow]] = {
    ImportKind.CUSTOMERS: [
        CustomerImport(
            2,
            "C1",
            "alice@example.com",
            "Alice Smith",
            Utility.SCE,
            EnrollmentStatus.VERIFIED,
            datetime(2026, 11, 2, 17, 30, tzinfo=UTC),
        ),
        CustomerImport(
            3,
            "C2",
            "Bob@Example.ORG",
            "Bob",
            Utility.PGE,
            EnrollmentStatus.PENDING,
            datetime(2026, 11, 2, 17, 30, tzinfo=UTC),
        ),
        CustomerImport(4, "C3", None, None, Utility.SDGE, None, datetime(2026, 11, 2, 17, 30, tzinfo=UTC)),
        CustomerImport(5, "C4", "dana@example.net", "Jones, Dana", Utility.SDGE, None, None),
    ],
    ImportKind.AUTHORIZATIONS: [
        AuthorizationImport(
            2,
            "A1",
            "C1",
            AuthorizationStatus.ACTIVE,
            datetime(2026, 10, 1, 15, 0, tzinfo=UTC),
            "FB=1_3_4_5;IntervalDuration=900;",
            datetime(2029, 10, 1, tzinfo=UTC),
            None,
        ),
        AuthorizationImport(
            3,
            "A2",
            "C1",
            AuthorizationStatus.REVOKED,
            datetime(2026, 9, 1, tzinfo=UTC),
            None,
            None,
            datetime(2026, 10, 1, 10, 0, tzinfo=UTC),
        ),
        AuthorizationImport(4, "A3", "C2", AuthorizationStatus.PENDING, None, "FB=36_40", None, None),
    ],
    ImportKind.PROCEDURES: [
        ProcedureImport(2, "C1", datetime(2026, 10, 30, 17, 0, tzinfo=UTC), "12345", "sam"),
        ProcedureImport(3, "C1", datetime(2026, 11, 5, 9, 0, tzinfo=UTC), None, None),
        ProcedureImport(4, "C2", datetime(2026, 11, 5, 9, 0, tzinfo=UTC), "zd-77", None),
    ],
    ImportKind.SUBSCRIPTIONS: [
        SubscriptionImport(2, "https://api.pge.com/GreenButtonConnect/espi/1_1/resource/Subscription/0", "C1"),
        # Stored as the sync looks it up: without the trailing slash and ESPI's /Batch/ path.
        SubscriptionImport(3, "https://test-api.example.com/espi/1_1/resource/RetailCustomer/test-customer-id", "C2"),
    ],
}


def parse(text: str) -> ParsedFile:
    return parse_csv(SOURCE, io.StringIO(text))


def failure(text: str) -> ImportFailed:
    with pytest.raises(ImportFailed) as info:
        parse(text)
    assert info.value.source == SOURCE
    return info.value


def csv_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def reorder(line: str, order: list[int]) -> str:
    """Reorder the fields of a simple (unquoted) CSV line."""
    fields = line.split(",")
    return ",".join(fields[i] for i in order)


# --- the kind from the header, good rows --------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ImportKind))
def test_good_file_of_each_kind(kind: ImportKind) -> None:
    parsed = parse(csv_text(HEADERS[kind], *GOOD_ROWS[kind]))
    assert parsed.kind is kind
    assert parsed.rows == EXPECTED[kind]


@pytest.mark.parametrize("kind", list(ImportKind))
def test_any_column_order(kind: ImportKind) -> None:
    columns = COLUMNS[kind]
    order = list(reversed(range(len(columns))))
    rows = [line for line in GOOD_ROWS[kind] if '"' not in line]
    text = csv_text(reorder(HEADERS[kind], order), *(reorder(line, order) for line in rows))
    parsed = parse(text)
    assert parsed.kind is kind
    assert parsed.rows == [row for row in EXPECTED[kind] if row.line <= len(rows) + 1]


@pytest.mark.parametrize("kind", list(ImportKind))
def test_header_case_spaces_and_extra_columns(kind: ImportKind) -> None:
    header = ", ".join(c.upper() for c in COLUMNS[kind]) + ",comment"
    text = csv_text(header, *(line + ",anything" for line in GOOD_ROWS[kind] if '"' not in line))
    parsed = parse(text)
    assert parsed.kind is kind
    assert [r.line for r in parsed.rows] == [r.line for r in EXPECTED[kind] if r.line <= len(parsed.rows) + 1]


def test_header_only_is_an_empty_import() -> None:
    assert parse(csv_text(HEADERS[ImportKind.PROCEDURES])) == ParsedFile(ImportKind.PROCEDURES, [])


def test_times_with_offset_z_none_and_empty() -> None:
    header = HEADERS[ImportKind.CUSTOMERS]
    parsed = parse(
        csv_text(
            header,
            "C1,,,SCE,,2026-03-08T01:30:00-08:00",
            "C2,,,SCE,,2026-03-08T10:30:00+01:00",
            "C3,,,SCE,,2026-03-08T09:30:00Z",
            "C4,,,SCE,,2026-03-08T09:30:00",
            "C5,,,SCE,,2026-03-08 09:30",
            "C6,,,SCE,,",
        )
    )
    times = [r.last_data_at for r in parsed.rows if isinstance(r, CustomerImport)]
    instant = datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
    assert times == [instant] * 5 + [None]
    assert all(t is None or t.tzinfo is UTC for t in times)


def test_blank_lines_are_skipped_and_lines_still_counted() -> None:
    parsed = parse(csv_text(HEADERS[ImportKind.CUSTOMERS], "", "C1,,,SCE,,", ",,,,,", "C2,,,PGE,,"))
    assert [r.line for r in parsed.rows] == [3, 5]


# --- bad rows: line number and the column named ---------------------------------------------------------

BAD_ROWS: dict[str, tuple[ImportKind, str, str]] = {
    "bad last_data_at": (
        ImportKind.CUSTOMERS,
        "C9,x@example.com,X,SCE,verified,2026-13-01T00:00:00Z",
        "last_data_at",
    ),
    "last_data_at not a date": (ImportKind.CUSTOMERS, "C9,,,SCE,,last tuesday", "last_data_at"),
    "bad granted_at": (ImportKind.AUTHORIZATIONS, "A9,C1,active,yesterday,,,", "granted_at"),
    "bad authorized_end": (
        ImportKind.AUTHORIZATIONS,
        "A9,C1,active,,,2026-02-30T00:00:00Z,",
        "authorized_end",
    ),
    "bad revoked_at": (ImportKind.AUTHORIZATIONS, "A9,C1,revoked,,,,1700000000000", "revoked_at"),
    "bad sent_at": (ImportKind.PROCEDURES, "C1,soon,123,sam", "sent_at"),
    "empty sent_at": (ImportKind.PROCEDURES, "C1,,123,sam", "sent_at"),
    "unknown utility": (ImportKind.CUSTOMERS, "C9,,,CONED,,", "utility"),
    "utility spelt PG&E": (ImportKind.CUSTOMERS, "C9,,,PG&E,,", "utility"),
    "empty utility": (ImportKind.CUSTOMERS, "C9,,,,,", "utility"),
    "unknown status": (ImportKind.AUTHORIZATIONS, "A9,C1,suspended,,,,", "status"),
    "Green Button numeric status": (ImportKind.AUTHORIZATIONS, "A9,C1,1,,,,", "status"),
    "unknown enrollment status": (ImportKind.CUSTOMERS, "C9,,,SCE,active,", "enrollment_status"),
    "empty customer_id": (ImportKind.CUSTOMERS, ",x@example.com,X,SCE,,", "customer_id"),
    "empty authorization_id": (ImportKind.AUTHORIZATIONS, ",C1,active,,,,", "authorization_id"),
    "empty customer_id of an authorization": (ImportKind.AUTHORIZATIONS, "A9,,active,,,,", "customer_id"),
    "empty customer_id of a procedure": (ImportKind.PROCEDURES, ",2026-11-05T09:00:00Z,1,sam", "customer_id"),
    "customer_id with a space": (ImportKind.CUSTOMERS, "C 9,,,SCE,,", "customer_id"),
    "customer_id too long": (ImportKind.CUSTOMERS, "C" + "9" * 64 + ",,,SCE,,", "customer_id"),
    "bad e-mail": (ImportKind.CUSTOMERS, "C9,alice.example.com,X,SCE,,", "email"),
    "e-mail with two at signs": (ImportKind.CUSTOMERS, "C9,a@b@c.com,X,SCE,,", "email"),
    "bad ticket_id": (ImportKind.PROCEDURES, "C1,2026-11-05T09:00:00Z,12/34,sam", "ticket_id"),
    # OverflowError once converted to UTC, not a traceback.
    "year 1 with an offset": (ImportKind.AUTHORIZATIONS, "A9,C1,active,0001-01-01T00:00:00+01:00,,,", "granted_at"),
    "year 9999 with an offset": (
        ImportKind.AUTHORIZATIONS, "A9,C1,active,,,9999-12-31T23:00:00-08:00,", "authorized_end",
    ),
    "last_data_at in 2099": (ImportKind.CUSTOMERS, "C9,,,SCE,verified,2099-01-01T00:00:00Z", "last_data_at"),
    "subscription that is not a URL": (ImportKind.SUBSCRIPTIONS, "Subscription/7,C1", "resource_uri"),
}


@pytest.mark.parametrize(("kind", "bad_row", "column"), list(BAD_ROWS.values()), ids=list(BAD_ROWS))
def test_bad_row_reported_with_line_and_column(kind: ImportKind, bad_row: str, column: str) -> None:
    good = [line for line in GOOD_ROWS[kind] if '"' not in line]
    failed = failure(csv_text(HEADERS[kind], good[0], bad_row, *good[1:]))
    assert [e.line for e in failed.errors] == [3]
    assert column in failed.errors[0].message
    assert f"{SOURCE}, line 3" in str(failed)
    assert "nothing of it was written" in str(failed)


@pytest.mark.parametrize("bad_row", ["C9,,,SCE,", "C9,,,SCE,,,", "C9"])
def test_wrong_field_count(bad_row: str) -> None:
    failed = failure(csv_text(HEADERS[ImportKind.CUSTOMERS], "C1,,,SCE,,", bad_row))
    assert [e.line for e in failed.errors] == [3]
    assert "fields" in failed.errors[0].message
    assert "6" in failed.errors[0].message


@pytest.mark.parametrize("kind", list(ImportKind))
def test_missing_column(kind: ImportKind) -> None:
    # Drop a column that does not decide the kind.
    dropped = next(c for c in COLUMNS[kind] if c not in {"authorization_id", "sent_at", "utility"})
    header = ",".join(c for c in COLUMNS[kind] if c != dropped)
    failed = failure(csv_text(header, "whatever"))
    assert len(failed.errors) == 1
    assert failed.errors[0].line == 1
    assert dropped in failed.errors[0].message
    assert kind.value in failed.errors[0].message


@pytest.mark.parametrize(
    "header",
    ["foo,bar,baz", "customer_id,email,name,enrollment_status,last_data_at", "id;email;utility", ""],
    ids=["unknown columns", "customers without utility", "semicolon separated", "empty file"],
)
def test_unknown_header(header: str) -> None:
    failed = failure(header + "\nC1,x\n" if header else "")
    assert [e.line for e in failed.errors] == [1]
    assert "matches no import kind" in failed.errors[0].message
    for columns in COLUMNS.values():
        assert ",".join(columns) in failed.errors[0].message


def test_same_procedure_other_ticket_is_no_repeat() -> None:
    parsed = parse(
        csv_text(HEADERS[ImportKind.PROCEDURES], "C1,2026-11-05T09:00:00Z,1,", "C1,2026-11-05T09:00:00Z,2,")
    )
    assert len(parsed.rows) == 2


def test_several_bad_rows_all_listed() -> None:
    failed = failure(
        csv_text(
            HEADERS[ImportKind.CUSTOMERS],
            "C1,a@example.com,A,SCE,verified,",
            "C2,not-an-email,B,SCE,,",
            "C3,,,XYZ,,",
            "C4,,,SCE,,",
            "C5,,,SCE,done,",
            "C6,,,SCE",
            "C7,,,SCE,,2026-99-01",
        )
    )
    assert failed.errors == [
        RowError(line, failed.errors[i].message, SOURCE) for i, line in enumerate([3, 4, 6, 7, 8])
    ]
    named = ["email", "utility", "enrollment_status", "fields", "last_data_at"]
    for error, word in zip(failed.errors, named, strict=True):
        assert word in error.message
        assert f"{SOURCE}, line {error.line}: " in str(failed)


def test_many_bad_rows_all_kept_and_the_message_shortened() -> None:
    count = MAX_ERRORS_SHOWN + 5
    failed = failure(csv_text(HEADERS[ImportKind.CUSTOMERS], *(f"C{i},,,MOON,," for i in range(count))))
    assert [e.line for e in failed.errors] == list(range(2, count + 2))
    assert f"line {MAX_ERRORS_SHOWN + 1}:" in str(failed)
    assert f"line {MAX_ERRORS_SHOWN + 2}:" not in str(failed)
    assert "and 5 more" in str(failed)
