"""Writing imports: every file of one call streamed into staging tables, checked in SQL, then applied with one
set-based upsert per table, all in one transaction.

Why this shape: a million rows must go in within seconds and in flat memory, so rows are never held in Python
(they stream from the CSV reader into a temporary table in batches: `executemany` on SQLite, COPY on
PostgreSQL), and everything that needs all rows at once (an id repeated, a customer that does not exist) is a
query over the staging table. The upsert then writes only the rows that differ from what is stored, so an
unchanged re-import writes nothing and fires no trigger. Customers and authorizations also keep the
fingerprint of the CSV fields they came from, so a re-import checks and stages only the rows whose fields
changed (`_load_file`): checking each row in Python is most of an import's time. A file that is the only one
of its kind in the call, byte for byte the last one imported so, onto a table no writer touched since
(`ImportBatch.unchanged`), is not read at all. Rows written the plain way (`plain_check`) skip the per-field
checks: one regular expression over the row stands for them.

The changed rows are first collected in a `*_changes` table holding the new values next to the old ones
(`old_status`, `old_customer_id`, `is_new`; for customers the old enrollment and last data time). That table
is where transitions (a new authorization, one revoked, a customer connected or disconnected) can be derived
in SQL, in the same transaction, before `_upsert_changes` applies them: the hook in `ImportBatch.apply` hands
their ids to the history (`models.history.Touched`), which compares only them.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import String, delete, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from commands.imports import (
    KIND_ORDER,
    AuthorizationImport,
    CsvHeader,
    CustomerImport,
    ErrorLog,
    ImportFailed,
    ImportKind,
    ImportRow,
    ProcedureImport,
    RowError,
    SubscriptionImport,
    decoded_lines,
    file_digest,
    joined_fingerprint,
    plain_check,
    read_header,
    read_records,
    row_reader,
)
from models import customer_summary
from models.base import Base
from models.claims import insert_if_absent
from models.db import BULK_WRITE_LOCK_KEY, Database
from models.function_blocks import function_block_mask
from models.history import Touched, history_started_at, record_transitions

# A row to stage, with the fingerprint of the CSV fields it was read from (None when it comes from elsewhere).
Staged = tuple[ImportRow, int | None]

# Rows per executemany / COPY flush: large enough to amortise the round trip, small enough to stay flat.
_BATCH = 5_000


class ImportedFileRow(Base):
    """The last file imported alone for a kind (no other file of its kind in the call), and the state it left
    the kind's table in (`ImportBatch.table_state`): the same bytes again, onto that same state, have nothing
    to change, and a re-import of them reads no row (`ImportBatch.unchanged`)."""

    __tablename__ = "imported_files"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # commands.imports.file_digest
    rows: Mapped[int]
    table_state: Mapped[str] = mapped_column(String(100))


@dataclass(frozen=True)
class Imported:
    source: str
    kind: ImportKind
    rows: int


@dataclass(frozen=True)
class _Table:
    """A kind's staging table and how its rows map onto the stored table."""

    target: str
    columns: tuple[str, ...]  # staged and written, in this order
    keys: tuple[str, ...]  # the stored table's unique key
    times: tuple[str, ...]  # columns holding times
    old: tuple[str, ...] = ()  # stored columns kept next to the new values in the changes table
    # Rows keep the fingerprint of the CSV fields they were imported from (`import_fingerprint`, the last
    # column), so a re-import checks and stages only the rows that differ (`load_keys`, `changed_lines`).
    fingerprinted: bool = False

    @property
    def staging(self) -> str:
        return f"import_{self.target}"

    @property
    def changes(self) -> str:
        return f"import_{self.target}_changes"

    @property
    def keys_staging(self) -> str:
        return f"import_{self.target}_keys"

    @property
    def compared(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.keys)


_FINGERPRINT = "import_fingerprint"
_TABLES: dict[ImportKind, _Table] = {
    ImportKind.CUSTOMERS: _Table(
        "customers",
        ("id", "email", "email_key", "name", "utility", "enrollment_status", "last_data_at", _FINGERPRINT),
        ("id",), ("last_data_at",), ("enrollment_status", "last_data_at"), fingerprinted=True,
    ),
    ImportKind.AUTHORIZATIONS: _Table(
        "authorizations",
        ("id", "customer_id", "status", "granted_at", "scope", "function_blocks", "authorized_end", "revoked_at",
         _FINGERPRINT),
        ("id",), ("granted_at", "authorized_end", "revoked_at"), ("customer_id", "status"), fingerprinted=True,
    ),
    ImportKind.PROCEDURES: _Table(
        "procedures", ("customer_id", "sent_at", "ticket_id", "agent"), ("customer_id", "sent_at", "ticket_id"),
        ("sent_at",),
    ),
    ImportKind.SUBSCRIPTIONS: _Table(
        "greenbutton_subscriptions", ("resource_uri", "customer_id"), ("resource_uri",), (), ("customer_id",),
    ),
}
_SQL_TYPES = {"id": "VARCHAR(64)", "customer_id": "VARCHAR(64)", "email": "VARCHAR(320)",
              "email_key": "VARCHAR(320)", "name": "VARCHAR(200)", "utility": "VARCHAR(8)",
              "enrollment_status": "VARCHAR(16)", "status": "VARCHAR(16)", "scope": "TEXT",
              "function_blocks": "BIGINT", "ticket_id": "VARCHAR(64)", "agent": "VARCHAR(64)",
              "resource_uri": "VARCHAR(1000)", _FINGERPRINT: "BIGINT"}


def _converter(kind: ImportKind, sqlite: bool) -> Callable[[Any], tuple[Any, ...]]:
    """How a parsed row becomes its staged values, in `_TABLES[kind].columns` order. Chosen once per file:
    this runs a million times. On SQLite times become the text SQLAlchemy stores (see `_sqlite_time`) and
    enums stay as they are (sqlite3 binds a str subclass as text); psycopg would write an Enum's name, so on
    PostgreSQL they become plain str."""
    t = _sqlite_time if sqlite else _same

    def text(value: Any) -> Any:
        return value if sqlite or value is None else str(value.value)

    if kind is ImportKind.AUTHORIZATIONS:
        mask = function_block_mask

        def authorization(r: AuthorizationImport) -> tuple[Any, ...]:
            return (r[1], r[2], text(r[3]), t(r[4]), r[5], mask(r[5]), t(r[6]), t(r[7]))
        return authorization
    if kind is ImportKind.CUSTOMERS:
        def customer(r: CustomerImport) -> tuple[Any, ...]:
            return (r[1], r[2], r[2].lower() if r[2] else None, r[3], text(r[4]), text(r[5]), t(r[6]))
        return customer
    if kind is ImportKind.PROCEDURES:
        def procedure(r: ProcedureImport) -> tuple[Any, ...]:
            return (r[1], t(r[2]), r[3] or "", r[4])
        return procedure

    def subscription(r: SubscriptionImport) -> tuple[Any, ...]:
        return (r[1], r[2])
    return subscription


_PlainRow = Callable[[int, int, int, tuple[str, ...], int], tuple[Any, ...]]


def _plain_converter(kind: ImportKind, sqlite: bool) -> _PlainRow:
    """The staged row (pos, source, line, `_converter`'s values, fingerprint) of a row `plain_check` accepted,
    straight from its fields (in `COLUMNS` order): they are the values themselves, and each time is UTC
    `YYYY-MM-DDTHH:MM:SS`, so its stored text (`_sqlite_time`; on PostgreSQL the same with its offset) is a
    matter of slicing, not of parsing and formatting. One call and one tuple a row: a million rows."""
    zone = ".000000" if sqlite else "+00"

    if kind is ImportKind.AUTHORIZATIONS:
        mask = function_block_mask

        def authorization(pos: int, source: int, line: int, f: tuple[str, ...], print_: int) -> tuple[Any, ...]:
            granted, scope, end, revoked = f[3], f[4] or None, f[5], f[6]
            return (pos, source, line, f[0], f[1], f[2],
                    granted[:10] + " " + granted[11:19] + zone if granted else None, scope, mask(scope),
                    end[:10] + " " + end[11:19] + zone if end else None,
                    revoked[:10] + " " + revoked[11:19] + zone if revoked else None, print_)
        return authorization
    assert kind is ImportKind.CUSTOMERS

    def customer(pos: int, source: int, line: int, f: tuple[str, ...], print_: int) -> tuple[Any, ...]:
        email, last = f[1] or None, f[5]
        return (pos, source, line, f[0], email, email.lower() if email else None, f[2] or None, f[3], f[4] or None,
                last[:10] + " " + last[11:19] + zone if last else None, print_)
    return customer


def _sqlite_time(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime stores (models.base.UTCDateTime hands it naive UTC), so staged
    # and stored times compare as equal strings. The parser gives UTC already, so the first 26 characters
    # are the time without its "+00:00" (one call: this runs three times a row).
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


def _same(value: datetime | None) -> datetime | None:
    return value


@dataclass(frozen=True)
class Changes:
    """What an apply wrote, per kind: the number of rows new and changed."""

    new: dict[ImportKind, int]
    changed: dict[ImportKind, int]


class ImportBatch:
    """The staging tables of one transaction: load rows of any kinds, check them together, apply them."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self._pos = 0
        self._created: set[ImportKind] = set()
        self._keyed: set[ImportKind] = set()
        self._renamed: set[str] = set()  # stored tables whose staging table became their changes table
        self._sources: list[str] = []
        # ON COMMIT DROP on PostgreSQL; SQLite has none, so `apply` drops them (a rollback undoes them anyway).
        self._on_commit = "" if self.sqlite else " ON COMMIT DROP"
        self._differs = "IS NOT" if self.sqlite else "IS DISTINCT FROM"
        self.touched = Touched(session)  # what `apply` wrote, for `record_transitions`
        if not self.sqlite:
            # For this transaction only: the sorts and hashes over a million staged rows stay in memory
            # instead of spilling to disk at the default 4 MB.
            self._exec("SET LOCAL work_mem = '64MB'")
            # One bulk write at a time, as SQLite's write lock already has it: two that change the same rows
            # lock them in the orders of their files, and in opposite orders PostgreSQL aborts one as a
            # deadlock. Taken before anything is read, so this one compares with what the other wrote.
            self._exec(f"SELECT pg_advisory_xact_lock({BULK_WRITE_LOCK_KEY})")

    # --- loading ------------------------------------------------------------------------------------

    def load(self, kind: ImportKind, source: str, rows: Iterable[Staged], errors: ErrorLog) -> int:
        """Stage `rows` with their fingerprints (streamed, in batches); returns how many. Once `errors` holds
        anything, rows are still read (so every bad row is listed) but no longer staged: nothing will be
        written."""
        table = _TABLES[kind]
        self._create(kind)
        source_index = self._source(source)
        values = _converter(kind, self.sqlite)
        fingerprinted = table.fingerprinted
        count = 0
        batch: list[tuple[Any, ...]] = []
        with self._staging(table.staging, ("pos", "source", "line", *table.columns), batch) as flush:
            for row, print_ in rows:
                count += 1
                if errors.total:
                    continue
                self._pos += 1
                if fingerprinted:
                    batch.append((self._pos, source_index, row.line, *values(row), print_))
                else:
                    batch.append((self._pos, source_index, row.line, *values(row)))
                if len(batch) >= _BATCH:
                    flush()
        return count

    def load_records(self, kind: ImportKind, source: str, records: Iterable[tuple[int, list[str]]],
                     header: CsvHeader, errors: ErrorLog, now: datetime, *, one_copy: bool = False) -> int:
        """Check and stage a file's records (from `read_records`); returns how many. A row written the plain
        way (`plain_check`) is staged as written, every other one through the full checks of `row_reader`,
        which also lists the bad ones. As `load`, nothing more is staged once `errors` holds anything.
        `one_copy`: nothing else uses the connection until this returns (see `_staging`)."""
        read = row_reader(header, source, errors, now)
        plain = plain_check(kind, now)
        table = _TABLES[kind]
        if plain is None or not table.fingerprinted:
            return self.load(kind, source, _read(records, read), errors)
        self._create(kind)
        source_index = self._source(source)
        values, plain_values = _converter(kind, self.sqlite), _plain_converter(kind, self.sqlite)
        fields_of, print_of = itemgetter(*header.positions), joined_fingerprint
        count = 0
        batch: list[tuple[Any, ...]] = []
        names = ("pos", "source", "line", *table.columns)
        with self._staging(table.staging, names, batch, one_copy=one_copy) as flush:
            # The loop a million rows go through: every name it calls is local, every step one call.
            for line, record in records:
                count += 1
                fields = fields_of(record)
                joined = "\x00".join(fields)
                if plain(joined):
                    if errors.total:
                        continue
                    self._pos += 1
                    batch.append(plain_values(self._pos, source_index, line, fields, print_of(joined)))
                else:
                    staged = read(line, record)
                    if staged is None or errors.total:
                        continue
                    self._pos += 1
                    batch.append((self._pos, source_index, line, *values(staged[0]), staged[1]))
                if len(batch) >= _BATCH:
                    flush()
        return count

    def has_fingerprints(self, kind: ImportKind) -> bool:
        """Whether stored rows of `kind` came from an import that fingerprinted them: then a re-import need
        only check the rows that changed (`load_keys`). A first import checks every row in one pass."""
        table = _TABLES[kind]
        return table.fingerprinted and self._exec(
            f"SELECT 1 FROM {table.target} WHERE {_FINGERPRINT} IS NOT NULL LIMIT 1").first() is not None

    def table_state(self, kind: ImportKind) -> str:
        """What any write to the kind's table changes: its rows, how many have a fingerprint (a writer other than
        the import clears it), and a sum over the fingerprints (an import that changed a row changed its
        fingerprint). One scan of the table, no per-row work in Python."""
        table = _TABLES[kind]
        # The modulus keeps the sum within 64 bits on SQLite, whose sum() refuses to overflow.
        state = self._exec(f"SELECT count(*), count({_FINGERPRINT}), coalesce(sum({_FINGERPRINT} % 2147483647), 0) "
                           f"FROM {table.target}").one()
        return ":".join(str(int(value)) for value in state)

    def unchanged(self, kind: ImportKind, digest: str) -> int | None:
        """How many rows the file of this digest holds, if it is the last file imported alone for `kind` and
        its table is still as that import left it; else None (read it). Such a file passed every check when
        it was imported, and the stored rows are still the ones it wrote: it has nothing to change."""
        last = self.session.get(ImportedFileRow, kind.value)
        if last is None or last.digest != digest or last.table_state != self.table_state(kind):
            return None
        return last.rows

    def remember(self, kind: ImportKind, digest: str | None, rows: int) -> None:
        """After `apply`: the file imported alone for `kind` (its digest), or None when several were, which
        leaves nothing to compare the next import with."""
        self.session.execute(delete(ImportedFileRow).where(ImportedFileRow.kind == kind.value))
        if digest is not None:
            insert_if_absent(self.session, ImportedFileRow.__table__, {
                "kind": kind.value, "digest": digest, "rows": rows, "table_state": self.table_state(kind)}, ["kind"])

    def load_keys(self, kind: ImportKind, source: str, records: Iterable[tuple[int, list[str]]], header: CsvHeader,
                  errors: ErrorLog) -> int:
        """Stage each record's line, key (its first column, an id) and fingerprint, unchecked: the cheap first
        pass of a re-import, after which `changed_lines` names the rows to check and `load_records` (repeats
        are looked for among these keys, which hold every row)."""
        table = _TABLES[kind]
        if kind not in self._keyed:
            self._exec(f"CREATE TEMPORARY TABLE {table.keys_staging} ({self._pos_column()}, source INTEGER, "
                       f"line BIGINT, {table.keys[0]} {_SQL_TYPES[table.keys[0]]}, {_FINGERPRINT} BIGINT)"
                       f"{self._on_commit}")
            self._keyed.add(kind)
        source_index = self._source(source)
        first, fields_of, print_of = header.positions[0], itemgetter(*header.positions), joined_fingerprint
        count = 0
        batch: list[tuple[Any, ...]] = []
        names = ("pos", "source", "line", table.keys[0], _FINGERPRINT)
        with self._staging(table.keys_staging, names, batch, one_copy=True) as flush:
            for line, record in records:
                count += 1
                if errors.total:
                    continue
                self._pos += 1
                batch.append((self._pos, source_index, line, record[first].strip(),
                              print_of("\x00".join(fields_of(record)))))
                if len(batch) >= _BATCH:
                    flush()
        self._analyze(table.keys_staging)
        return count

    def changed_lines(self, kind: ImportKind, source: str) -> Iterator[int]:
        """The lines of `source` (staged by `load_keys`) whose row is new or differs from the stored one's
        fingerprint, in order; read a page at a time, so a file of new rows stays in flat memory."""
        table = _TABLES[kind]
        key = table.keys[0]
        after = 0
        while True:
            # In `pos` order, which is the file's line order: pages walk the staging table's own key.
            page = self._exec(
                f"SELECT k.pos, k.line FROM {table.keys_staging} k LEFT JOIN {table.target} t ON t.{key} = k.{key} "
                f"WHERE k.pos > {after} AND k.source = {self._source(source)} "
                f"AND (t.{key} IS NULL OR t.{_FINGERPRINT} {self._differs} k.{_FINGERPRINT}) "
                f"ORDER BY k.pos LIMIT {_BATCH}").all()
            yield from (line for _, line in page)
            if len(page) < _BATCH:
                return
            after = page[-1][0]

    @contextlib.contextmanager
    def _staging(self, staging: str, names: Sequence[str], batch: list[tuple[Any, ...]], *,
                 one_copy: bool = False) -> Iterator[Callable[[], None]]:
        """Yields what writes `batch` into the staging table and empties it (the rows left are written on the
        way out): executemany on SQLite, COPY on PostgreSQL. With `one_copy`, one COPY stays open throughout,
        so the server stores rows while this process reads the next ones, with no round trip per batch;
        the caller must then not use the connection otherwise (a re-import's second pass reads which rows
        changed between batches, so it cannot)."""
        raw = self.session.connection().connection.driver_connection
        assert raw is not None
        if self.sqlite:
            statement = f"INSERT INTO {staging} VALUES ({', '.join('?' * len(names))})"

            def insert() -> None:
                raw.executemany(statement, batch)
                batch.clear()
            yield insert
            insert()
            return
        copy_sql = f"COPY {staging} ({', '.join(names)}) FROM STDIN"
        if one_copy:
            with raw.cursor() as cursor, cursor.copy(copy_sql) as target:
                def write() -> None:
                    for values in batch:
                        target.write_row(values)
                    batch.clear()
                yield write
                write()
            return

        def copy() -> None:
            with raw.cursor() as cursor, cursor.copy(copy_sql) as target:
                for values in batch:
                    target.write_row(values)
            batch.clear()
        yield copy
        copy()

    def _analyze(self, staging: str) -> None:
        """PostgreSQL plans a temporary table it has no statistics for as a few rows: a million staged rows
        then meet nested loops and full scans per page. ANALYZE samples it (SQLite's planner needs none)."""
        if not self.sqlite:
            self._exec(f"ANALYZE {staging}")

    def _source(self, source: str) -> int:
        """The number staged rows carry for their file, the same in every pass over it."""
        if source not in self._sources:
            self._sources.append(source)
        return self._sources.index(source)

    def _pos_column(self) -> str:
        # On SQLite an INTEGER PRIMARY KEY is the row id itself: no second b-tree to fill for every row.
        return "pos INTEGER PRIMARY KEY" if self.sqlite else "pos BIGINT PRIMARY KEY"

    def _create(self, kind: ImportKind) -> None:
        if kind in self._created:
            return
        table = _TABLES[kind]
        time_type = "TEXT" if self.sqlite else "TIMESTAMPTZ"
        columns = ", ".join(f"{c} {time_type if c in table.times else _SQL_TYPES[c]}" for c in table.columns)
        # No primary key on PostgreSQL: nothing pages through the staged rows (the keys table is paged), and
        # a b-tree filled for every row of a COPY is server time the import waits for.
        pos = self._pos_column() if self.sqlite else "pos BIGINT"
        self._exec(f"CREATE TEMPORARY TABLE {table.staging} ({pos}, source INTEGER, "
                   f"line BIGINT, {columns}){self._on_commit}")
        self._created.add(kind)

    def staging_table(self, kind: ImportKind) -> str:
        """The temporary table `load` filled for `kind` (columns as in the stored table), until `apply`."""
        self._create(kind)
        return _TABLES[kind].staging

    # --- checking -----------------------------------------------------------------------------------

    def check(self, errors: ErrorLog) -> None:
        """Rows that are bad only next to the others: a key repeated, a customer nobody imported."""
        for kind in KIND_ORDER:
            if kind not in self._created and kind not in self._keyed:
                continue
            table = _TABLES[kind]
            self._create(kind)
            # Every row's key is in the keys table when there is one; the staged rows are only those changed.
            every_row = table.keys_staging if kind in self._keyed else table.staging
            if every_row != table.staging:
                self._exec(f"CREATE INDEX {table.staging}_key ON {table.staging} ({', '.join(table.keys)})")
            if not self._unique(table, every_row):
                self._repeats(table, every_row, errors)
            self._analyze(table.staging)
            if "customer_id" in table.columns:
                self._unknown_customers(table, errors)

    def _unique(self, table: _Table, staging: str) -> bool:
        """Index the staged keys, unique if they are: then no key is repeated, which is what a good file is
        and costs no query. Else the index is made plain and `_repeats` finds which rows repeat which."""
        index = f"CREATE INDEX {staging}_key ON {staging} ({', '.join(table.keys)})"
        try:
            with self.session.begin_nested():  # a refused unique index leaves the transaction usable
                self._exec(index.replace("CREATE INDEX", "CREATE UNIQUE INDEX"))
        except IntegrityError:
            self._exec(index)
            return False
        return True

    def _repeats(self, table: _Table, staging: str, errors: ErrorLog) -> None:
        keys = table.keys
        match = " AND ".join(f"s.{k} = d.{k}" for k in keys)
        rows = self._exec(
            f"SELECT s.source, s.line, f.source, f.line, s.{keys[0]} FROM {staging} s "
            f"JOIN (SELECT {', '.join(keys)}, min(pos) AS first FROM {staging} GROUP BY {', '.join(keys)} "
            f"HAVING count(*) > 1) d ON {match} AND s.pos <> d.first "
            f"JOIN {staging} f ON f.pos = d.first ORDER BY s.pos"
        )
        for source, line, first_source, first_line, key in rows:
            where = f"line {first_line}"
            if source != first_source:
                where = f"{self._sources[first_source]}, {where}"
            errors.add(self._sources[source], line, f"repeats {where} ({key})")

    def _unknown_customers(self, table: _Table, errors: ErrorLog) -> None:
        staged = (f" AND NOT EXISTS (SELECT 1 FROM {_TABLES[ImportKind.CUSTOMERS].staging} n "
                  "WHERE n.id = s.customer_id)") if ImportKind.CUSTOMERS in self._created else ""
        rows = self._exec(
            f"SELECT s.source, s.line, s.customer_id FROM {table.staging} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM customers c WHERE c.id = s.customer_id){staged} ORDER BY s.pos"
        )
        for source, line, customer_id in rows:
            errors.add(self._sources[source], line, f"unknown customer {customer_id}: import the customers file first")

    # --- applying -----------------------------------------------------------------------------------

    def apply(self) -> Changes:
        """Write every staged kind, customers first, each with one set-based upsert of its changed rows."""
        new: dict[ImportKind, int] = {}
        changed: dict[ImportKind, int] = {}
        history_started = history_started_at(self.session) is not None
        # No customer yet: every customer there will be is inserted below, with its summary (`_upsert_changes`).
        all_customers_new = self._exec("SELECT 1 FROM customers LIMIT 1").first() is None
        for kind in KIND_ORDER:
            if kind not in self._created:
                continue
            table = _TABLES[kind]
            self._collect_changes(table)
            # History (issue 14): the customers and authorizations about to be written are the only rows
            # this transaction's `record_transitions` compares with what it observed before.
            if not history_started:
                # The first observation takes every row as its baseline and compares none: a million ids
                # not copied for nothing.
                self.touched.untracked()
            elif kind is ImportKind.CUSTOMERS:
                self.touched.add_customers(f"SELECT id FROM {table.changes}")
            elif kind is ImportKind.AUTHORIZATIONS:
                self.touched.add_authorizations(f"SELECT id FROM {table.changes}")
            counts = self._exec(f"SELECT count(*), coalesce(sum(is_new), 0) FROM {table.changes}").one()
            new[kind], changed[kind] = int(counts[1]), int(counts[0]) - int(counts[1])
            if kind is ImportKind.CUSTOMERS or kind is ImportKind.SUBSCRIPTIONS:
                self._upsert_changes(table)
            else:
                with customer_summary.deferred(self.session) as owed:
                    self._upsert_changes(table)
                if owed and not all_customers_new:
                    customers = f"SELECT customer_id FROM {table.changes}"
                    if ImportKind.CUSTOMERS in self._created:
                        # Inserted with their summary already (`_upsert_changes`): nobody else can see them yet.
                        customers += (f" WHERE customer_id NOT IN "
                                      f"(SELECT id FROM {_TABLES[ImportKind.CUSTOMERS].changes} WHERE is_new = 1)")
                    if "old_customer_id" in self._old_names(table):
                        customers += f" UNION SELECT old_customer_id FROM {table.changes} WHERE is_new = 0"
                    customer_summary.refresh(self.session, customers,
                                             authorizations=kind is ImportKind.AUTHORIZATIONS,
                                             procedures=kind is ImportKind.PROCEDURES)
        if self.sqlite:
            for kind in self._created:
                if _TABLES[kind].target not in self._renamed:
                    self._exec(f"DROP TABLE temp.{_TABLES[kind].staging}")
                self._exec(f"DROP TABLE temp.{_TABLES[kind].changes}")
            for kind in self._keyed:
                self._exec(f"DROP TABLE temp.{_TABLES[kind].keys_staging}")
        self._created.clear()
        self._keyed.clear()
        self._renamed.clear()
        return Changes(new, changed)

    def _old_names(self, table: _Table) -> list[str]:
        return [f"old_{c}" for c in table.old]

    def _collect_changes(self, table: _Table) -> None:
        if self._exec(f"SELECT 1 FROM {table.target} LIMIT 1").first() is None:
            # Nothing stored yet: every staged row is new, and the staging table becomes the changes table as
            # it is, instead of being copied into one (a million rows, about a second).
            time_type = "TEXT" if self.sqlite else "TIMESTAMPTZ"
            self._exec(f"ALTER TABLE {table.staging} RENAME TO {table.changes}")
            for c in table.old:
                kind = time_type if c in table.times else _SQL_TYPES[c]
                self._exec(f"ALTER TABLE {table.changes} ADD COLUMN old_{c} {kind}")
            self._exec(f"ALTER TABLE {table.changes} ADD COLUMN is_new INTEGER NOT NULL DEFAULT 1")
            self._renamed.add(table.target)
            return
        differs = self._differs
        on = " AND ".join(f"t.{k} = s.{k}" for k in table.keys)
        changed = " OR ".join(f"t.{c} {differs} s.{c}" for c in table.compared)
        where = f"t.{table.keys[0]} IS NULL" + (f" OR {changed}" if changed else "")
        olds = "".join(f", t.{c} AS old_{c}" for c in table.old)
        new = f"CASE WHEN t.{table.keys[0]} IS NULL THEN 1 ELSE 0 END AS is_new"
        self._exec(
            f"CREATE TEMPORARY TABLE {table.changes}{self._on_commit} AS SELECT "
            f"{', '.join(f's.{c}' for c in table.columns)}{olds}, {new} "
            f"FROM {table.staging} s LEFT JOIN {table.target} t ON {on} WHERE {where}"
        )

    def _upsert_changes(self, table: _Table) -> None:
        columns = ", ".join(table.columns)
        values = ", ".join(f"c.{c}" for c in table.columns)
        joins = ""
        if table.target == "customers":
            # A new customer's summary comes from the authorizations and procedures staged beside it, which
            # are all it has: written with the row, it is not recomputed once they are (one write, not two).
            staged = [_TABLES[kind].staging if kind in self._created else None
                      for kind in (ImportKind.AUTHORIZATIONS, ImportKind.PROCEDURES)]
            summary, summed, joins = customer_summary.of_new_customers("c.id", *staged)
            columns, values = f"{columns}, {summary}", f"{values}, {summed}"
        updates = ", ".join(f"{c} = excluded.{c}" for c in table.compared)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        # `WHERE true`: SQLite's parser needs it to tell an upsert's ON CONFLICT from a join's ON.
        self._exec(f"INSERT INTO {table.target} ({columns}) SELECT {values} FROM {table.changes} c{joins} "
                   f"WHERE 1 = 1 ON CONFLICT ({', '.join(table.keys)}) {action}")

    def _exec(self, sql: str) -> Any:
        return self.session.execute(text(sql))


def import_files(db: Database, paths: Sequence[Path], *, now: datetime | None = None) -> list[Imported]:
    """Import every file in one transaction, customers first whatever the order given; raise `ImportFailed`
    listing the bad rows of every file (with file and line) and write nothing if any row is bad."""
    now = now or datetime.now(UTC)
    errors = ErrorLog()
    imported: list[Imported] = []
    with contextlib.ExitStack() as files:
        opened: list[tuple[Path, Any, CsvHeader]] = []
        for path in paths:
            reader = csv.reader(decoded_lines(path.name, files.enter_context(path.open("rb")), errors))
            try:
                opened.append((path, reader, read_header(path.name, reader)))
            except ImportFailed as failed:
                for error in failed.errors:
                    errors.add(path.name, error.line, error.message)
        opened.sort(key=lambda item: KIND_ORDER.index(item[2].kind))
        digests = _alone(opened)
        with db.transaction() as session:
            batch = ImportBatch(session, now)
            skipped: set[ImportKind] = set()
            for path, reader, header in opened:
                digest = digests.get(header.kind)
                count = batch.unchanged(header.kind, digest) if digest else None
                if count is None:
                    count = _load_file(batch, path, reader, header, errors, now)
                else:
                    skipped.add(header.kind)
                imported.append(Imported(path.name, header.kind, count))
            if not errors:
                batch.check(errors)
            if errors:
                raise ImportFailed.of(errors)  # rolls the transaction back: nothing of any file is written
            batch.apply()
            for result in imported:
                if _TABLES[result.kind].fingerprinted and result.kind not in skipped:
                    batch.remember(result.kind, digests.get(result.kind), result.rows)
            record_transitions(session, now, batch.touched)  # what this import changed, in its transaction
    return imported


def _alone(opened: Sequence[tuple[Path, Any, CsvHeader]]) -> dict[ImportKind, str]:
    """The digest of each fingerprinted kind's file when it is the only file of its kind in the call: a key
    repeated across two files of a kind is found only by staging both."""
    kinds = [header.kind for _, _, header in opened]
    digests: dict[ImportKind, str] = {}
    for path, _, header in opened:
        if kinds.count(header.kind) == 1 and _TABLES[header.kind].fingerprinted:
            with path.open("rb") as raw:
                digests[header.kind] = file_digest(raw)
    return digests


def _load_file(batch: ImportBatch, path: Path, reader: Any, header: CsvHeader, errors: ErrorLog, now: datetime) -> int:
    """Stage one file's rows; returns how many it holds.

    A first import checks and stages every row. A re-import first stages each row's key and fingerprint (no
    checks: a row exactly as last imported was checked then), then reads the file again for the rows that
    are new or differ, and checks and stages only those: so an unchanged re-import costs a fraction of the
    first. A file with an unreadable row gets every row checked, so that every bad row is listed.
    """
    source, kind = path.name, header.kind
    if not batch.has_fingerprints(kind):
        records = read_records(source, reader, header, errors)
        return batch.load_records(kind, source, records, header, errors, now, one_copy=True)
    count = batch.load_keys(kind, source, read_records(source, reader, header, errors), header, errors)
    wanted: Iterator[int] | None = None
    if not errors:
        changed = batch.changed_lines(kind, source)
        first = next(changed, None)
        if first is None:
            return count  # nothing changed: there is nothing to read again
        wanted = itertools.chain([first], changed)
    # The second pass reads the file again: what the first pass reported of its lines is not reported twice.
    seen = ErrorLog()
    with path.open("rb") as again:
        reread = csv.reader(decoded_lines(source, again, seen))
        read_header(source, reread)
        records = read_records(source, reread, header, seen)
        batch.load_records(kind, source, _only(records, wanted) if wanted else records, header, errors, now)
    return count


_Records = Iterable[tuple[int, list[str]]]


def _read(records: _Records, read: Callable[[int, list[str]], Staged | None]) -> Iterator[Staged]:
    for line, record in records:
        if (staged := read(line, record)) is not None:
            yield staged


def _only(records: _Records, lines: Iterator[int]) -> Iterator[tuple[int, list[str]]]:
    """The records whose line is in `lines` (ascending): a walk of both in step."""
    wanted = next(lines, None)
    for line, fields in records:
        while wanted is not None and wanted < line:
            wanted = next(lines, None)
        if wanted is None:
            return
        if line == wanted:
            yield line, fields


def import_file(db: Database, path: Path, *, now: datetime | None = None) -> Imported:
    """Import one CSV file in one transaction; raise `ImportFailed` and write nothing on any bad row."""
    return import_files(db, [path], now=now)[0]


__all__ = ["Changes", "ImportBatch", "ImportFailed", "Imported", "RowError", "import_file", "import_files"]
