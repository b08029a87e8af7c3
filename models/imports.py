"""Writing imported CSV files: upsert by id, all-or-nothing per file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from commands.imports import (
    AuthorizationImport,
    CustomerImport,
    ImportFailed,
    ImportKind,
    ParsedFile,
    ProcedureImport,
    RowError,
    parse_csv,
)
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.db import Database
from models.function_blocks import function_block_mask
from models.history import record_transitions

_BATCH = 1000


@dataclass(frozen=True)
class Imported:
    source: str
    kind: ImportKind
    rows: int


# A file that went in, or why it did not (ImportFailed is also raised, by the one-file functions).
ImportResult = Imported | ImportFailed


def read_file(path: Path) -> ParsedFile:
    """Parse one CSV file, or raise `ImportFailed` listing its bad rows."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return parse_csv(path.name, handle)
    except UnicodeDecodeError:
        raise ImportFailed(path.name, [RowError(1, "the file is not UTF-8 text; save it as CSV UTF-8")]) from None


def import_file(db: Database, path: Path) -> Imported:
    """Import one CSV file in one transaction; raise `ImportFailed` and write nothing on any bad row."""
    parsed = read_file(path)
    with db.transaction() as session:
        write(session, path.name, parsed)
        record_transitions(session, datetime.now(UTC))
    return Imported(path.name, parsed.kind, len(parsed.rows))


def write(session: Session, source: str, parsed: ParsedFile) -> None:
    rows = parsed.rows
    if parsed.kind is ImportKind.CUSTOMERS:
        values = [_customer_values(r) for r in rows if isinstance(r, CustomerImport)]
        _upsert(session, CustomerRow.__table__, values, ["id"])
        return
    _check_customers_exist(session, source, rows)
    if parsed.kind is ImportKind.AUTHORIZATIONS:
        values = [_authorization_values(r) for r in rows if isinstance(r, AuthorizationImport)]
        _upsert(session, AuthorizationRow.__table__, values, ["id"])
    else:
        values = [_procedure_values(r) for r in rows if isinstance(r, ProcedureImport)]
        _upsert(session, ProcedureRow.__table__, values, ["customer_id", "sent_at", "ticket_id"])


def _check_customers_exist(
    session: Session, source: str, rows: Sequence[AuthorizationImport | ProcedureImport | CustomerImport]
) -> None:
    wanted = {r.customer_id for r in rows}
    known: set[str] = set()
    ids = sorted(wanted)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        known.update(session.scalars(select(CustomerRow.id).where(CustomerRow.id.in_(chunk))))
    errors = [
        RowError(r.line, f"unknown customer {r.customer_id}: import the customers file first")
        for r in rows
        if r.customer_id not in known
    ]
    if errors:
        raise ImportFailed(source, errors)


def _upsert(session: Session, table: Any, values: list[dict[str, Any]], keys: list[str]) -> None:
    assert isinstance(table, Table)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(values), _BATCH):
        batch = values[start : start + _BATCH]
        statement = insert(table).values(batch)
        updates = {c: statement.excluded[c] for c in batch[0] if c not in keys} if batch else {}
        statement = (
            statement.on_conflict_do_update(index_elements=keys, set_=updates)
            if updates
            else statement.on_conflict_do_nothing(index_elements=keys)
        )
        session.execute(statement)


def _customer_values(r: CustomerImport) -> dict[str, Any]:
    return {
        "id": r.customer_id,
        "email": r.email,
        "email_key": r.email.lower() if r.email else None,
        "name": r.name,
        "utility": r.utility.value,
        "enrollment_status": r.enrollment_status.value if r.enrollment_status else None,
        "last_data_at": r.last_data_at,
    }


def _authorization_values(r: AuthorizationImport) -> dict[str, Any]:
    return {
        "id": r.authorization_id,
        "customer_id": r.customer_id,
        "status": r.status.value,
        "granted_at": r.granted_at,
        "scope": r.scope,
        # Given explicitly so an upsert that changes the scope also updates the digest's mask.
        "function_blocks": function_block_mask(r.scope),
        "authorized_end": r.authorized_end,
        "revoked_at": r.revoked_at,
    }


def _procedure_values(r: ProcedureImport) -> dict[str, Any]:
    return {"customer_id": r.customer_id, "sent_at": r.sent_at, "ticket_id": r.ticket_id or "", "agent": r.agent}


def import_files(db: Database, paths: Iterable[Path]) -> list[ImportResult]:
    """Import each file on its own, customers first whatever the order given; a bad file is reported
    and the others still go in."""
    results: list[ImportResult] = []
    parsed: list[tuple[Path, ParsedFile]] = []
    for path in paths:
        try:
            parsed.append((path, read_file(path)))
        except ImportFailed as failed:
            results.append(failed)
    order = list(ImportKind)
    for path, file in sorted(parsed, key=lambda item: order.index(item[1].kind)):
        try:
            with db.transaction() as session:
                write(session, path.name, file)
                record_transitions(session, datetime.now(UTC))
            results.append(Imported(path.name, file.kind, len(file.rows)))
        except ImportFailed as failed:
            results.append(failed)
    return results
