"""Reading the import CSVs of DESIGN.md: the kind from the header, every row checked, errors with line numbers.

Nothing here writes: `models.imports` writes a file only when every one of its rows is good.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar, assert_never

from commands.check import EnrollmentStatus
from commands.policy import Utility
from commands.rules import AuthorizationStatus

MAX_ERRORS_SHOWN = 20
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_E = TypeVar("_E", bound=StrEnum)


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    AUTHORIZATIONS = "authorizations"
    PROCEDURES = "procedures"


COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.CUSTOMERS: ("customer_id", "email", "name", "utility", "enrollment_status", "last_data_at"),
    ImportKind.AUTHORIZATIONS: (
        "authorization_id", "customer_id", "status", "granted_at", "scope", "authorized_end", "revoked_at",
    ),
    ImportKind.PROCEDURES: ("customer_id", "sent_at", "ticket_id", "agent"),
}
# The column that tells the kinds apart.
_KEY_COLUMN = {"authorization_id": ImportKind.AUTHORIZATIONS, "sent_at": ImportKind.PROCEDURES,
               "utility": ImportKind.CUSTOMERS}


@dataclass(frozen=True)
class CustomerImport:
    line: int
    customer_id: str
    email: str | None
    name: str | None
    utility: Utility
    enrollment_status: EnrollmentStatus | None
    last_data_at: datetime | None


@dataclass(frozen=True)
class AuthorizationImport:
    line: int
    authorization_id: str
    customer_id: str
    status: AuthorizationStatus
    granted_at: datetime | None
    scope: str | None
    authorized_end: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class ProcedureImport:
    line: int
    customer_id: str
    sent_at: datetime
    ticket_id: str | None
    agent: str | None


ImportRow = CustomerImport | AuthorizationImport | ProcedureImport


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


class ImportFailed(Exception):
    """A file with bad rows; nothing of it may be written."""

    def __init__(self, source: str, errors: list[RowError]) -> None:
        self.source = source
        self.errors = errors
        shown = "\n".join(f"  {source}, line {e.line}: {e.message}" for e in errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{source}: not imported, nothing of it was written:\n{shown}{tail}")


@dataclass(frozen=True)
class ParsedFile:
    kind: ImportKind
    rows: list[ImportRow]


class _BadValue(ValueError):
    pass


def parse_csv(source: str, lines: Iterable[str]) -> ParsedFile:
    """Parse a whole file or raise `ImportFailed` listing every bad row."""
    reader = csv.reader(lines)
    header = [h.strip().lower() for h in next(reader, [])]
    kind = _kind_of(source, header)
    missing = [c for c in COLUMNS[kind] if c not in header]
    if missing:
        raise ImportFailed(source, [RowError(1, f"missing column {', '.join(missing)} for a {kind} file "
                                                f"(expected: {','.join(COLUMNS[kind])})")])
    position = {name: header.index(name) for name in COLUMNS[kind]}
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, ...], int] = {}
    for record in reader:
        line = reader.line_num
        if not any(field.strip() for field in record):
            continue
        if len(record) != len(header):
            errors.append(RowError(line, f"{len(record)} fields, the header has {len(header)}"))
            continue
        values = {name: record[i].strip() for name, i in position.items()}
        try:
            row = _PARSERS[kind](line, values)
        except _BadValue as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = _identity(row)
        if key in seen:
            errors.append(RowError(line, f"repeats line {seen[key]} ({', '.join(key)})"))
            continue
        seen[key] = line
        rows.append(row)
    if errors:
        raise ImportFailed(source, errors)
    return ParsedFile(kind, rows)


def _kind_of(source: str, header: list[str]) -> ImportKind:
    for column, kind in _KEY_COLUMN.items():
        if column in header:
            return kind
    expected = "; ".join(f"{kind}: {','.join(cols)}" for kind, cols in COLUMNS.items())
    found = ",".join(header) or "an empty file"
    raise ImportFailed(source, [RowError(1, f"the header ({found}) matches no import kind. Expected {expected}")])


def _identity(row: ImportRow) -> tuple[str, ...]:
    match row:
        case CustomerImport():
            return (row.customer_id,)
        case AuthorizationImport():
            return (row.authorization_id,)
        case ProcedureImport():
            return (row.customer_id, row.sent_at.isoformat(), row.ticket_id or "")
        case _:
            assert_never(row)


def _customer(line: int, v: dict[str, str]) -> CustomerImport:
    email = v["email"] or None
    if email is not None and (len(email) > 320 or not _EMAIL.match(email)):
        raise _BadValue("email is not an e-mail address")
    if len(v["name"]) > 200:
        raise _BadValue(f"name is {len(v['name'])} characters long; at most 200 fit")
    return CustomerImport(
        line=line,
        customer_id=_identifier(v, "customer_id"),
        email=email,
        name=v["name"] or None,
        utility=_choice(v, "utility", Utility, upper=True),
        enrollment_status=_choice(v, "enrollment_status", EnrollmentStatus) if v["enrollment_status"] else None,
        last_data_at=_time(v, "last_data_at"),
    )


def _authorization(line: int, v: dict[str, str]) -> AuthorizationImport:
    return AuthorizationImport(
        line=line,
        authorization_id=_identifier(v, "authorization_id"),
        customer_id=_identifier(v, "customer_id"),
        status=_choice(v, "status", AuthorizationStatus),
        granted_at=_time(v, "granted_at"),
        scope=v["scope"] or None,
        authorized_end=_time(v, "authorized_end"),
        revoked_at=_time(v, "revoked_at"),
    )


def _procedure(line: int, v: dict[str, str]) -> ProcedureImport:
    sent_at = _time(v, "sent_at")
    if sent_at is None:
        raise _BadValue("sent_at is empty: when were the steps sent?")
    ticket = v["ticket_id"] or None
    if ticket is not None and not _ID.match(ticket):
        raise _BadValue(f"ticket_id {ticket[:40]!r} is not a ticket id (letters, digits, . _ : -)")
    return ProcedureImport(line, _identifier(v, "customer_id"), sent_at, ticket, v["agent"][:64] or None)


_PARSERS: dict[ImportKind, Callable[[int, dict[str, str]], Any]] = {
    ImportKind.CUSTOMERS: _customer,
    ImportKind.AUTHORIZATIONS: _authorization,
    ImportKind.PROCEDURES: _procedure,
}


def _identifier(v: dict[str, str], column: str) -> str:
    value = v[column]
    if not value:
        raise _BadValue(f"{column} is empty")
    if not _ID.match(value):
        raise _BadValue(f"{column} {value[:40]!r} is not an id (up to 64 letters, digits, . _ : -)")
    return value


def _choice(v: dict[str, str], column: str, enum: type[_E], *, upper: bool = False) -> _E:
    raw = v[column]
    value = raw.upper() if upper else raw.lower()
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise _BadValue(f"{column} {raw[:40]!r} is not one of {allowed}") from None


def _time(v: dict[str, str], column: str) -> datetime | None:
    raw = v[column]
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _BadValue(f"{column} {raw[:40]!r} is not an ISO 8601 time (e.g. 2026-11-02T09:30:00-08:00)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
