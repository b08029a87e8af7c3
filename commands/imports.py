"""Reading the import CSVs of DESIGN.md: the kind from the header, every row checked, errors with file and line.

Rows are read one at a time and handed on (`read_rows` is a generator), so a file of any size is read in
flat memory; what needs every row at once (an id repeated, a customer that does not exist) is checked by
`models.imports` in SQL. Nothing here writes: `models.imports` writes the files of one call only when every
row of every file is good.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from hashlib import blake2b
from operator import itemgetter
from typing import IO, Any, NamedTuple, TypeVar

from commands.check import EnrollmentStatus
from commands.policy import CLOCK_SKEW, Utility
from commands.rules import AuthorizationStatus

MAX_ERRORS_SHOWN = 20
# Bad rows kept with their message; beyond it they are only counted, so a wholly wrong million-row file
# does not hold a million messages.
MAX_ERRORS_KEPT = 1000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_E = TypeVar("_E", bound=StrEnum)


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    AUTHORIZATIONS = "authorizations"
    PROCEDURES = "procedures"
    # Which Green Button subscription (or retail customer) is which customer: the sync's mapping.
    SUBSCRIPTIONS = "subscriptions"


COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.CUSTOMERS: ("customer_id", "email", "name", "utility", "enrollment_status", "last_data_at"),
    ImportKind.AUTHORIZATIONS: (
        "authorization_id", "customer_id", "status", "granted_at", "scope", "authorized_end", "revoked_at",
    ),
    ImportKind.PROCEDURES: ("customer_id", "sent_at", "ticket_id", "agent"),
    ImportKind.SUBSCRIPTIONS: ("resource_uri", "customer_id"),
}
# The column that tells the kinds apart.
_KEY_COLUMN = {"authorization_id": ImportKind.AUTHORIZATIONS, "sent_at": ImportKind.PROCEDURES,
               "utility": ImportKind.CUSTOMERS, "resource_uri": ImportKind.SUBSCRIPTIONS}
# Customers first: the other kinds name them.
KIND_ORDER = (ImportKind.CUSTOMERS, ImportKind.AUTHORIZATIONS, ImportKind.PROCEDURES, ImportKind.SUBSCRIPTIONS)


class CustomerImport(NamedTuple):
    line: int
    customer_id: str
    email: str | None
    name: str | None
    utility: Utility
    enrollment_status: EnrollmentStatus | None
    last_data_at: datetime | None


class AuthorizationImport(NamedTuple):
    line: int
    authorization_id: str
    customer_id: str
    status: AuthorizationStatus
    granted_at: datetime | None
    scope: str | None
    authorized_end: datetime | None
    revoked_at: datetime | None


class ProcedureImport(NamedTuple):
    line: int
    customer_id: str
    sent_at: datetime
    ticket_id: str | None
    agent: str | None


class SubscriptionImport(NamedTuple):
    line: int
    resource_uri: str
    customer_id: str


ImportRow = CustomerImport | AuthorizationImport | ProcedureImport | SubscriptionImport


@dataclass(frozen=True)
class RowError:
    line: int
    message: str
    source: str = ""


@dataclass
class ErrorLog:
    """The bad rows of one import call, over all its files: the first `MAX_ERRORS_KEPT` kept, all counted."""

    errors: list[RowError] = field(default_factory=list)
    total: int = 0

    def add(self, source: str, line: int, message: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(line, message, source))

    def __bool__(self) -> bool:
        return self.total > 0


class ImportFailed(Exception):
    """Files with bad rows; nothing of any file of the call may be written."""

    def __init__(self, source: str, errors: list[RowError], total: int | None = None) -> None:
        self.errors = [e if e.source else RowError(e.line, e.message, source) for e in errors]
        self.source = source
        self.total = max(total or 0, len(errors))
        shown = "\n".join(f"  {e.source}, line {e.line}: {e.message}" for e in self.errors[:MAX_ERRORS_SHOWN])
        more = self.total - min(len(self.errors), MAX_ERRORS_SHOWN)
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{source}: not imported, nothing of it was written:\n{shown}{tail}")

    @classmethod
    def of(cls, log: ErrorLog) -> ImportFailed:
        sources = list(dict.fromkeys(e.source for e in log.errors))
        return cls(", ".join(sources), log.errors, log.total)


@dataclass(frozen=True)
class ParsedFile:
    kind: ImportKind
    rows: list[ImportRow]


class _BadValue(ValueError):
    pass


def decoded_lines(source: str, raw_lines: Iterable[bytes], errors: ErrorLog) -> Iterator[str]:
    """UTF-8 lines of a binary file, one at a time: a line that is not UTF-8, or holds a NUL byte (which
    PostgreSQL cannot store), is an error on its own line number, not on "line 1" of the whole file."""
    for number, raw in enumerate(raw_lines, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # Excel's "CSV UTF-8" starts with a BOM
            raw = raw[3:]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.add(source, number, f"byte {raw[exc.start]:#04x} at character {exc.start + 1} is not UTF-8 "
                                       "text: save the file as CSV UTF-8")
            line = raw.decode("utf-8", "replace")
        if "\x00" in line:
            errors.add(source, number, "holds a NUL byte (\\0), which no text column can store: remove it")
            line = line.replace("\x00", "")
        yield line


@dataclass(frozen=True)
class CsvHeader:
    kind: ImportKind
    width: int
    positions: tuple[int, ...]  # of COLUMNS[kind], in that order


def read_header(source: str, reader: Iterator[list[str]]) -> CsvHeader:
    """The file's kind from its header, or `ImportFailed` saying what a header should be."""
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise ImportFailed(source, [RowError(1, f"the header is not CSV ({exc})")]) from None
    kind = _kind_of(source, header)
    missing = [c for c in COLUMNS[kind] if c not in header]
    if missing:
        raise ImportFailed(source, [RowError(1, f"missing column {', '.join(missing)} for a {kind} file "
                                                f"(expected: {','.join(COLUMNS[kind])})")])
    return CsvHeader(kind, len(header), tuple(header.index(name) for name in COLUMNS[kind]))


def read_records(source: str, reader: Any, header: CsvHeader, errors: ErrorLog) -> Iterator[tuple[int, list[str]]]:
    """(line, record) of each row past the header, as the CSV reader split it. Blank rows are skipped; a row of
    the wrong width goes to `errors`."""
    first, width = header.positions[0], header.width
    try:
        for record in reader:  # a for loop, not next() a row: this runs a million times
            if len(record) != width or not record[first]:
                if not any(field.strip() for field in record):
                    continue
                if len(record) != width:
                    errors.add(source, reader.line_num, f"{len(record)} fields, the header has {width}")
                    continue
            yield reader.line_num, record
    except csv.Error as exc:
        # A field over csv.field_size_limit (128 KiB), usually a quote never closed: what follows cannot be
        # split into rows any more.
        errors.add(source, reader.line_num, f"{exc}; usually a quote (\") that is never closed. The rest "
                                            "of the file was not read")


def read_rows(
    source: str, reader: Any, header: CsvHeader, errors: ErrorLog, now: datetime
) -> Iterator[ImportRow]:
    """Each good row of a `csv.reader` past its header; each bad one goes to `errors` with its line."""
    read = row_reader(header, source, errors, now)
    for line, record in read_records(source, reader, header, errors):
        if (found := read(line, record)) is not None:
            yield found[0]


def row_reader(
    header: CsvHeader, source: str, errors: ErrorLog, now: datetime
) -> Callable[[int, list[str]], tuple[ImportRow, int] | None]:
    """Checks and converts one record (from `read_records`): the row and its fingerprint, or None with the
    row's error logged."""
    parse, positions = _PARSERS[header.kind], header.positions
    raw = itemgetter(*positions)

    def read(line: int, record: list[str]) -> tuple[ImportRow, int] | None:
        try:
            row = parse(line, [record[i].strip() for i in positions], now)
        except _BadValue as exc:
            errors.add(source, line, str(exc))
            return None
        return row, fingerprint(raw(record))
    return read


# Change it when a release reads some field differently (a new scope form, a stricter check): every row then
# differs from its stored fingerprint, and the next import reads and checks every row again.
FINGERPRINT_VERSION = "reauth-import-1\x00"


def fingerprint(fields: Iterable[str]) -> int:
    """A row's fields, as written in the file, as a signed 64-bit number: the same fields give the same number
    in every process and release, so an import can tell a row that is exactly as it was last imported
    without checking it again (a field written differently, even by a space, is read again). 64 bits of
    BLAKE2b: a changed row keeps its old number by chance once in 10^19."""
    # Joined by NUL, which `decoded_lines` keeps out of every field, so no two rows join to the same text. The
    # version leads the text (cheaper than BLAKE2b's own personalisation, which costs a microsecond a row).
    return joined_fingerprint("\x00".join(fields))


def joined_fingerprint(joined: str) -> int:
    """`fingerprint` of fields already joined by NUL (the importer joins them once for `plain_check` too)."""
    return _from_bytes(blake2b((FINGERPRINT_VERSION + joined).encode(), digest_size=8).digest(), "big", signed=True)


_from_bytes = int.from_bytes


def file_digest(raw: IO[bytes]) -> str:
    """The BLAKE2b of a file's bytes (and of `FINGERPRINT_VERSION`, so a release that reads rows differently
    reads the file again): the same digest, the same rows, the same checks passed."""
    digest = blake2b(FINGERPRINT_VERSION.encode(), digest_size=32)
    while chunk := raw.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def plain_check(kind: ImportKind, now: datetime) -> Callable[[str], object] | None:
    """For a kind whose rows are mostly written one way: whether a row's fields (in `COLUMNS` order, joined by
    NUL) are that way, so that the checks would accept every field exactly as written, with no space to
    strip and no case to change; times are UTC `YYYY-MM-DDTHH:MM:SS` (`Z`, `+00:00` or nothing after).
    Such a row needs no per-field check: one regular expression over the row says it all, which is what
    lets a million rows go in within seconds. Any other row, good or bad, goes through `row_reader`."""
    if kind is ImportKind.AUTHORIZATIONS:
        return _PLAIN_AUTHORIZATION.fullmatch
    if kind is not ImportKind.CUSTOMERS:
        return None
    plain = _PLAIN_CUSTOMER.fullmatch
    # `_customer` refuses meter data from the future; a time before this second's is surely not.
    latest = (now + CLOCK_SKEW).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def customer(joined: str) -> bool:
        found = plain(joined)
        return found is not None and (not (last := found[1]) or last[:19] < latest)
    return customer


# The plain forms of `plain_check`, each the same rule as the check it stands in for (`_ID`, `_EMAIL`, the
# members of `_choice`, `_time` of a UTC time; a date that exists, February 29 left to `_time`).
_PLAIN_ID = "[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
_PLAIN_DATE = ("[12][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
               "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_PLAIN_TIME = f"(?:{_PLAIN_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:Z|\\+00:00)?)?"
# Nothing to strip: no space first or last (look-arounds, not a required last character: no backtracking).
_PLAIN_TEXT = "(?!\\s)[^\\x00]*(?<!\\s)"


def _plain(*fields: str) -> re.Pattern[str]:
    return re.compile("\\x00".join(fields))


def parse_csv(source: str, lines: Iterable[str], now: datetime | None = None) -> ParsedFile:
    """Parse a small file whole, or raise `ImportFailed` listing every bad row (ids repeated in the file
    are found when it is written, in SQL)."""
    reader = csv.reader(lines)
    header = read_header(source, reader)
    errors = ErrorLog()
    rows = list(read_rows(source, reader, header, errors, now or datetime.now(UTC)))
    if errors:
        raise ImportFailed.of(errors)
    return ParsedFile(header.kind, rows)


def _kind_of(source: str, header: list[str]) -> ImportKind:
    for column, kind in _KEY_COLUMN.items():
        if column in header:
            return kind
    expected = "; ".join(f"{kind}: {','.join(cols)}" for kind, cols in COLUMNS.items())
    found = ",".join(header) or "an empty file"
    raise ImportFailed(source, [RowError(1, f"the header ({found}) matches no import kind. Expected {expected}")])


def _customer(line: int, v: list[str], now: datetime) -> CustomerImport:
    customer_id, email, name, utility, enrollment, last_data = v
    if email and (len(email) > 320 or not _EMAIL.match(email)):
        raise _BadValue("email is not an e-mail address")
    if len(name) > 200:
        raise _BadValue(f"name is {len(name)} characters long; at most 200 fit")
    last_data_at = _time("last_data_at", last_data)
    if last_data_at is not None and last_data_at > now + CLOCK_SKEW:
        raise _BadValue(f"last_data_at {last_data[:40]!r} is in the future: meter data cannot have arrived yet")
    return CustomerImport(
        line,
        _identifier("customer_id", customer_id),
        email or None,
        name or None,
        _choice("utility", utility, _UTILITIES, upper=True),
        _choice("enrollment_status", enrollment, _ENROLLMENT) if enrollment else None,
        last_data_at,
    )


def _authorization(line: int, v: list[str], now: datetime) -> AuthorizationImport:
    authorization_id, customer_id, status, granted_at, scope, authorized_end, revoked_at = v
    # tuple.__new__ straight away: a NamedTuple's own constructor is Python code, a microsecond a row.
    return _new(AuthorizationImport, (
        line,
        _identifier("authorization_id", authorization_id),
        _identifier("customer_id", customer_id),
        _choice("status", status, _STATUSES),
        _time("granted_at", granted_at),
        scope or None,
        _time("authorized_end", authorized_end),
        _time("revoked_at", revoked_at),
    ))


def _procedure(line: int, v: list[str], now: datetime) -> ProcedureImport:
    customer_id, sent, ticket, agent = v
    sent_at = _time("sent_at", sent)
    if sent_at is None:
        raise _BadValue("sent_at is empty: when were the steps sent?")
    if ticket and not _ID.match(ticket):
        raise _BadValue(f"ticket_id {ticket[:40]!r} is not a ticket id (letters, digits, . _ : -)")
    return ProcedureImport(line, _identifier("customer_id", customer_id), sent_at, ticket or None, agent[:64] or None)


def _subscription(line: int, v: list[str], now: datetime) -> SubscriptionImport:
    resource_uri, customer_id = v
    if not resource_uri.startswith(("https://", "http://")) or len(resource_uri) > 1000:
        raise _BadValue(f"resource_uri {resource_uri[:60]!r} is not the URL of a Green Button subscription or "
                        "retail customer (https://...)")
    return SubscriptionImport(line, subscription_key(resource_uri), _identifier("customer_id", customer_id))


def subscription_key(uri: str) -> str:
    """A subscription or retail customer URI as the mapping stores it: custodians name the same resource
    with and without `/Batch/` (ESPI's bulk path) and a trailing slash."""
    return uri.strip().rstrip("/").replace("/resource/Batch/", "/resource/")


_PARSERS: dict[ImportKind, Callable[[int, list[str], datetime], ImportRow]] = {
    ImportKind.CUSTOMERS: _customer,
    ImportKind.AUTHORIZATIONS: _authorization,
    ImportKind.PROCEDURES: _procedure,
    ImportKind.SUBSCRIPTIONS: _subscription,
}


def _identifier(column: str, value: str) -> str:
    if not value:
        raise _BadValue(f"{column} is empty")
    if not _ID.match(value):
        raise _BadValue(f"{column} {value[:40]!r} is not an id (up to 64 letters, digits, . _ : -)")
    return value


_new = tuple.__new__
# Dictionary lookups: calling an enum per row costs a second per million rows.
_UTILITIES = {u.value: u for u in Utility}
_ENROLLMENT = {s.value: s for s in EnrollmentStatus}
_STATUSES = {s.value: s for s in AuthorizationStatus}
_PLAIN_AUTHORIZATION = _plain(_PLAIN_ID, _PLAIN_ID, f"(?:{'|'.join(_STATUSES)})", _PLAIN_TIME, _PLAIN_TEXT,
                              _PLAIN_TIME, _PLAIN_TIME)
_PLAIN_CUSTOMER = _plain(
    _PLAIN_ID,
    "(?:(?=[^\\x00]{1,320}\\x00)[^@\\s\\x00]+@[^@\\s\\x00]+\\.[^@\\s\\x00]+)?",  # `_EMAIL`, at most 320 long
    "(?!\\s)[^\\x00]{0,200}(?<!\\s)",  # at most 200 long
    f"(?:{'|'.join(_UTILITIES)})", f"(?:{'|'.join(_ENROLLMENT)})?", f"({_PLAIN_TIME})",
)


def _choice(column: str, raw: str, members: dict[str, _E], *, upper: bool = False) -> _E:
    member = members.get(raw.upper() if upper else raw.lower())
    if member is None:
        raise _BadValue(f"{column} {raw[:40]!r} is not one of {', '.join(members)}")
    return member


def _time(column: str, raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
        zone = value.tzinfo
        if zone is UTC:  # "Z" and "+00:00" parse to this very object: the common case, checked first
            return value
        if zone is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except ValueError:
        raise _BadValue(f"{column} {raw[:40]!r} is not an ISO 8601 time (e.g. 2026-11-02T09:30:00-08:00)") from None
    except OverflowError:
        # Year 1 or 9999 with an offset: the same instant in UTC falls outside the years a time can hold.
        raise _BadValue(f"{column} {raw[:40]!r} falls outside the years 1 to 9999 in UTC: "
                        "give a real date (or leave it empty if unknown)") from None
