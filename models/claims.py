"""Claim by INSERT: the database, not a read-then-write, decides who performs a side effect."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_if_absent(session: Session, table: Any, values: dict[str, Any], keys: list[str]) -> bool:
    """INSERT the row unless one with the same unique `keys` exists; True when this call inserted it.

    ON CONFLICT DO NOTHING on both SQLite and PostgreSQL: a concurrent claimer waits on the unique
    index and then sees the conflict, so exactly one caller gets True.
    """
    assert isinstance(table, Table)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1
